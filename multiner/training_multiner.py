"""Training helpers for Multi-NER, not needed at inference (a saved model folder does not hold this module); the
two learning rates and the held-out slice are the family-neutral `training_core`'s.

- The Trainer's `compute_metrics` (`MultiNerMetrics`) and the model card kept up to date while a stock Trainer
  trains (`MultiNerCardCallback`).
- Calibrated decoding: the decision threshold chosen on held-out training data after training. An entity needs its
  start, end and span-match probabilities each above one threshold; binary cross-entropy over mostly negative
  positions leaves a young model's probabilities low, so 0.5 is rarely the best cut-off. The sweep decodes held-out
  examples at every threshold of a grid from one forward pass, and the chosen threshold is written to
  `config.decision_threshold`, which the pipeline and `processor.decode` use when the caller gives no threshold;
  only when it beats 0.5 beyond the held-out slice's noise (a paired bootstrap), since on a small slice the best
  grid point is mostly noise.
- Positive weights by rarity (`rarity_positive_weights`): each type's weight of its gold positions from how few
  training entities it has.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import TrainerCallback

from .card_multiner import MultiNerCardData, write_multiner_card
from .configuration_multiner import DEFAULT_THRESHOLD, MultiNerConfig
from .decoding import decode_spans, keep_non_overlapping
from .evaluation import Span, example_counts, flatten_scores, span_scores
from .training_core import (
    BOOTSTRAP_RESAMPLES,
    CALIBRATION_CONFIDENCE,
    HYPERPARAMETERS,
    MIN_CALIBRATION_ENTITIES,
    THRESHOLD_GRID,
    choose_threshold,
    gain_confidence,
)

logger = logging.getLogger(__name__)


class MultiNerMetrics:
    """`compute_metrics` for a stock `Trainer`: strict span P/R/F1 on the windows of the evaluation set.

    Spans are compared in token coordinates of each window, so no text is needed; gold entities the processor could
    not represent are not in the labels (the processor counts them).

    Args:
        entity_types: the model's entity types, in order.
        threshold: probability the start, end and span-match scores must each exceed.
        flat: keep only non-overlapping predictions (for flat datasets such as CoNLL-2003).

    Example:
        >>> metrics = MultiNerMetrics(["PER", "LOC"], flat=True)
        >>> trainer = Trainer(..., compute_metrics=metrics)  # doctest: +SKIP
    """

    def __init__(self, entity_types: Sequence[str], threshold: float = 0.5, flat: bool = False):
        self.entity_types = list(entity_types)
        self.threshold = threshold
        self.flat = flat

    def __call__(self, eval_prediction) -> dict[str, float]:
        start_logits, end_logits, span_logits = eval_prediction.predictions[:3]
        predicted = [
            self._named(spans) for spans in decode_spans(start_logits, end_logits, span_logits, self.threshold)
        ]
        gold = [
            [(self.entity_types[int(t)], int(first), int(last) + 1) for t, first, last in row if t >= 0]
            for row in eval_prediction.label_ids
        ]
        return flatten_scores(span_scores(gold, predicted, self.entity_types))

    def _named(self, spans: list[tuple[int, int, int, float]]) -> list[Span]:
        if self.flat:
            spans = keep_non_overlapping(spans, lambda span: (span[1], span[2] + 1), lambda span: span[3])
        return [(self.entity_types[type_pos], first, last + 1) for type_pos, first, last, _ in spans]


@dataclass
class Calibration:
    """What a calibration saw and chose: `threshold`, the held-out micro F1 at every grid threshold (`f1`), and how
    many held-out `examples` and gold `entities` it read. `reason` says why the threshold was left alone, if it was."""

    threshold: float | None
    f1: dict[float, float] = field(default_factory=dict)
    examples: int = 0
    entities: int = 0
    reason: str | None = None


def rarity_positive_weights(
    examples: Sequence[dict], entity_types: Sequence[str], base: float | None = None
) -> list[float]:
    """`MultiNerConfig.positive_weight` per type from the training examples ({"entities": [{"label", ...}]}): `base`
    (by default the config's one weight, 5) for the most frequent of `entity_types`, `base · sqrt(most / count)` for a
    type with `count` entities (at least one counted), so a type with a quarter of the most frequent one's examples
    weighs its positives twice as much.

    Example:
        >>> examples = [{"entities": [{"label": "PER"}] * 4 + [{"label": "LOC"}]}]
        >>> rarity_positive_weights(examples, ["PER", "LOC"])
        [5.0, 10.0]
    """
    base = MultiNerConfig.positive_weight if base is None else base
    counts = Counter(entity["label"] for example in examples for entity in example["entities"])
    most = max([counts[name] for name in entity_types] + [1])
    return [round(base * math.sqrt(most / max(counts[name], 1)), 3) for name in entity_types]


def threshold_sweep(
    model,
    processor,
    examples: Sequence[dict],
    thresholds: Sequence[float] = THRESHOLD_GRID,
    flat: bool = False,
    batch_size: int = 16,
) -> dict[float, dict]:
    """Strict span scores (`evaluation.span_scores`) of `examples` decoded at every threshold, from one forward pass.

    Args:
        model: a [`MultiNerModel`]; run in eval mode without gradients.
        processor: its [`MultiNerProcessor`].
        examples: dicts with `tokens` (a word list) or `text`, and `entities` as `{"start", "end", "label"}` (word
            indices or character offsets, end exclusive), as `processor.preprocess` reads them.
        thresholds: the probabilities to decode at, each in [0, 1).
        flat: decode flat (non-overlapping) entities, as for flat data.
        batch_size: examples per forward pass.
    """
    gold, found = _decoded_at(model, processor, examples, thresholds, flat, batch_size)
    return {threshold: span_scores(gold, predicted, processor.entity_types) for threshold, predicted in found.items()}


def _decoded_at(
    model, processor, examples: Sequence[dict], thresholds: Sequence[float], flat: bool, batch_size: int
) -> tuple[list[list[Span]], dict[float, list[list[Span]]]]:
    """The gold entities of `examples` and, per threshold, the entities decoded at it (one forward pass)."""
    if not thresholds:
        raise ValueError("threshold_sweep needs at least one threshold.")
    floor = min(thresholds)
    found: dict[float, list] = {threshold: [] for threshold in thresholds}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for begin in range(0, len(examples), batch_size):
                chunk = examples[begin : begin + batch_size]
                key = "tokens" if "tokens" in chunk[0] else "text"
                batch = processor(**{key: [example[key] for example in chunk]}).to(model.device)
                # spans below the lowest threshold are not scored, as in the pipeline
                outputs = model(**batch, span_threshold=floor)
                for threshold in thresholds:
                    decoded = processor.decode(outputs, batch, threshold=threshold, flat=flat)
                    found[threshold] += [[(e["entity_group"], e["start"], e["end"]) for e in row] for row in decoded]
    finally:
        model.train(was_training)
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in examples]
    return gold, found


def calibrate_threshold(
    model,
    processor,
    examples: Sequence[dict],
    flat: bool = False,
    thresholds: Sequence[float] = THRESHOLD_GRID,
    batch_size: int = 16,
) -> Calibration:
    """Choose the decision threshold on held-out `examples` and write it to `model.config.decision_threshold`.

    The examples must not have been trained on (hold out a slice of the training data). The best threshold of the
    grid (`choose_threshold`) replaces the default 0.5 only when it beats 0.5 in `CALIBRATION_CONFIDENCE` of the
    bootstrap resamples of the examples (`gain_confidence`): on a small slice the best grid point is mostly noise.
    Otherwise, or with fewer than `MIN_CALIBRATION_ENTITIES` gold entities, the threshold is left as it was and
    `reason` says why.

    Example:
        >>> calibration = calibrate_threshold(model, processor, held_out, flat=True)  # doctest: +SKIP
        >>> model.config.decision_threshold == calibration.threshold  # doctest: +SKIP
        True
    """
    entities = sum(len(example["entities"]) for example in examples)
    if entities < MIN_CALIBRATION_ENTITIES:
        reason = (
            f"the held-out slice has {entities} gold entities (fewer than {MIN_CALIBRATION_ENTITIES}); hold out "
            "more training examples to calibrate"
        )
        logger.warning("Decision threshold not calibrated: %s.", reason)
        return Calibration(None, examples=len(examples), entities=entities, reason=reason)
    thresholds = sorted({*thresholds, DEFAULT_THRESHOLD})
    gold, found = _decoded_at(model, processor, examples, thresholds, flat, batch_size)
    f1 = {threshold: span_scores(gold, found[threshold], processor.entity_types)["f1"] for threshold in thresholds}
    threshold = choose_threshold(f1)
    calibration = Calibration(threshold, f1, len(examples), entities)
    if threshold != DEFAULT_THRESHOLD:
        counts = {t: torch.tensor(example_counts(gold, found[t])) for t in (threshold, DEFAULT_THRESHOLD)}
        calibration.confidence = gain_confidence(counts[threshold], counts[DEFAULT_THRESHOLD])
        if calibration.confidence < CALIBRATION_CONFIDENCE:
            calibration.threshold = None
            calibration.reason = (
                f"on the held-out slice, {threshold} (F1 {f1[threshold]:.4f}) beats {DEFAULT_THRESHOLD} (F1 "
                f"{f1[DEFAULT_THRESHOLD]:.4f}) in {calibration.confidence:.0%} of {BOOTSTRAP_RESAMPLES} bootstrap "
                f"resamples, fewer than {CALIBRATION_CONFIDENCE:.0%}: within the slice's noise"
            )
            logger.info("Decision threshold left at its default: %s.", calibration.reason)
            return calibration
    model.config.decision_threshold = threshold
    logger.info(
        "Decision threshold calibrated on %d held-out examples (%d entities): %.2f (F1 %.4f there)",
        len(examples),
        entities,
        threshold,
        f1[threshold],
    )
    return calibration


class MultiNerCalibrationCallback(TrainerCallback):
    """Calibrates the decision threshold on held-out examples when training ends (`calibrate_threshold`), before the
    model is saved; put it before a [`MultiNerCardCallback`] so the card reports the calibrated threshold.

    Example:
        >>> held_out, train = examples[:100], examples[100:]  # doctest: +SKIP
        >>> calibration = MultiNerCalibrationCallback(processor, held_out, flat=True)  # doctest: +SKIP
        >>> trainer = Trainer(..., callbacks=[calibration])  # doctest: +SKIP
    """

    def __init__(self, processor, examples: Sequence[dict], flat: bool = False, batch_size: int = 16):
        self.processor = processor
        self.examples = list(examples)
        self.flat = flat
        self.batch_size = batch_size
        self.calibration: Calibration | None = None

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("MultiNerCalibrationCallback needs the model; the Trainer passes it.")
        self.calibration = calibrate_threshold(
            model, self.processor, self.examples, flat=self.flat, batch_size=self.batch_size
        )


def scores_from_trainer_metrics(metrics: dict[str, float], entity_types: list[str], prefix: str = "eval_") -> dict:
    """`MultiNerMetrics` results as logged by the Trainer (`eval_f1`, `eval_PER_f1`, ...) back in `span_scores`
    form."""
    names = ("precision", "recall", "f1")
    return {
        **{name: metrics[f"{prefix}{name}"] for name in names},
        "per_type": {
            label: {name: metrics[f"{prefix}{label}_{name}"] for name in names}
            for label in entity_types
            if f"{prefix}{label}_f1" in metrics
        },
    }


class MultiNerCardCallback(TrainerCallback):
    """Keeps a model card up to date while a stock `Trainer` trains.

    It records the training hyperparameters when training begins and the strict-span scores of every evaluation
    (from `MultiNerMetrics`), and writes `README.md` into each checkpoint and into `output_dir` when training ends
    and after each evaluation.

    Args:
        processor: the model's `MultiNerProcessor` (queries and window settings go on the card).
        card_data: anything else the card should say (datasets, license, Hub id, ...).
        eval_dataset_name: the name the evaluation results are reported under.

    Example:
        >>> callback = MultiNerCardCallback(processor, MultiNerCardData(datasets=["conll2003"]))  # doctest: +SKIP
        >>> Trainer(..., callbacks=[callback]).train()  # doctest: +SKIP
    """

    def __init__(self, processor, card_data: MultiNerCardData | None = None, eval_dataset_name: str | None = None):
        self.processor = processor
        self.card_data = card_data or MultiNerCardData()
        self.eval_dataset_name = eval_dataset_name or (self.card_data.datasets or ["evaluation data"])[0]

    def on_train_begin(self, args, state, control, **kwargs):
        self.card_data.hyperparameters = {name: getattr(args, name) for name in HYPERPARAMETERS}

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if metrics and "eval_f1" in metrics:
            scores = scores_from_trainer_metrics(metrics, self.processor.entity_types)
            self.card_data.eval_results[self.eval_dataset_name] = scores
            if model is not None and state.is_world_process_zero:
                write_multiner_card(args.output_dir, model.config, self.processor, self.card_data)

    def on_save(self, args, state, control, model=None, **kwargs):
        if model is not None and state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            write_multiner_card(folder, model.config, self.processor, self.card_data)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is not None and state.is_world_process_zero:
            write_multiner_card(args.output_dir, model.config, self.processor, self.card_data)


__all__ = [
    "Calibration",
    "MultiNerCalibrationCallback",
    "MultiNerCardCallback",
    "MultiNerMetrics",
    "calibrate_threshold",
    "rarity_positive_weights",
    "scores_from_trainer_metrics",
    "threshold_sweep",
]
