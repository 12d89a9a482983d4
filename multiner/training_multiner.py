"""Training helpers for Multi-NER, not needed at inference (a saved model folder does not hold this module).

- A learning rate of its own for the newly initialised parts (`head_optimizer`): the heads, query and type attention
  start from random weights and learn from few positives per type, the encoder from a pretrained start.
- Calibrated decoding: the decision threshold chosen on held-out training data after training. An entity needs its
  start, end and span-match probabilities each above one threshold; binary cross-entropy over mostly negative
  positions leaves a young model's probabilities low, so 0.5 is rarely the best cut-off. The sweep decodes held-out
  examples at every threshold of a grid from one forward pass, and the chosen threshold is written to
  `config.decision_threshold`, which the pipeline and `processor.decode` use when the caller gives no threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import TrainerCallback

from .evaluation import MIN_CALIBRATION_ENTITIES, THRESHOLD_GRID, choose_threshold, hold_out_last, span_scores

logger = logging.getLogger(__name__)

# (THRESHOLD_GRID, MIN_CALIBRATION_ENTITIES, hold_out_last and choose_threshold live in the family-neutral
# evaluation module, which the joint family's calibration shares; they are imported here under their old names.)


def head_optimizer(
    model, learning_rate: float, head_learning_rate: float, weight_decay: float = 0.0, **adamw_kwargs
) -> torch.optim.AdamW:
    """AdamW with `learning_rate` for the encoder and `head_learning_rate` for everything else (heads, type and query
    attention); weight decay as the Trainer applies it (not on biases and norms). Give it to the stock Trainer as
    `optimizers=(optimizer, None)`: the Trainer's warmup and decay schedule scales both rates alike.

    Example:
        >>> optimizer = head_optimizer(model, learning_rate=1e-4, head_learning_rate=1e-3)  # doctest: +SKIP
        >>> trainer = Trainer(model=model, args=args, optimizers=(optimizer, None), ...)  # doctest: +SKIP
    """
    for name, value in (("learning_rate", learning_rate), ("head_learning_rate", head_learning_rate)):
        if not value > 0:
            raise ValueError(f"{name}={value!r} must be > 0.")
    encoder = {id(parameter) for parameter in model.encoder.parameters()}
    no_decay = ("bias", "norm")
    groups: dict[tuple[bool, bool], list] = {(a, b): [] for a in (True, False) for b in (True, False)}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            decays = parameter.dim() > 1 and not any(part in name.lower() for part in no_decay)
            groups[(id(parameter) in encoder, decays)].append(parameter)
    return torch.optim.AdamW(
        [
            {
                "params": parameters,
                "lr": learning_rate if in_encoder else head_learning_rate,
                "weight_decay": weight_decay if decays else 0.0,
            }
            for (in_encoder, decays), parameters in groups.items()
            if parameters
        ],
        lr=learning_rate,
        **adamw_kwargs,
    )


@dataclass
class Calibration:
    """What a calibration saw and chose: `threshold`, the held-out micro F1 at every grid threshold (`f1`), and how
    many held-out `examples` and gold `entities` it read. `reason` says why the threshold was left alone, if it was."""

    threshold: float | None
    f1: dict[float, float] = field(default_factory=dict)
    examples: int = 0
    entities: int = 0
    reason: str | None = None


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
                    found[threshold] += processor.decode(outputs, batch, threshold=threshold, flat=flat)
    finally:
        model.train(was_training)
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in examples]
    return {
        threshold: span_scores(
            gold,
            [[(e["entity_group"], e["start"], e["end"]) for e in entities] for entities in predicted],
            processor.entity_types,
        )
        for threshold, predicted in found.items()
    }


def calibrate_threshold(
    model,
    processor,
    examples: Sequence[dict],
    flat: bool = False,
    thresholds: Sequence[float] = THRESHOLD_GRID,
    batch_size: int = 16,
) -> Calibration:
    """Choose the decision threshold on held-out `examples` and write it to `model.config.decision_threshold`.

    The examples must not have been trained on (hold out a slice of the training data). With fewer than
    `MIN_CALIBRATION_ENTITIES` gold entities among them the threshold is left as it was and `reason` says so.

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
    sweep = threshold_sweep(model, processor, examples, thresholds, flat=flat, batch_size=batch_size)
    f1 = {threshold: scores["f1"] for threshold, scores in sweep.items()}
    threshold = choose_threshold(f1)
    model.config.decision_threshold = threshold
    logger.info(
        "Decision threshold calibrated on %d held-out examples (%d entities): %.2f (F1 %.4f there)",
        len(examples),
        entities,
        threshold,
        f1[threshold],
    )
    return Calibration(threshold, f1, len(examples), entities)


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


__all__ = [
    "THRESHOLD_GRID",
    "head_optimizer",
    "hold_out_last",
    "Calibration",
    "MultiNerCalibrationCallback",
    "calibrate_threshold",
    "choose_threshold",
    "threshold_sweep",
]
