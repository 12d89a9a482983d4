"""Model cards for the Hub: metadata (YAML) and a body rendered from the template in `card_template_multiner.py`.

Written by `MultiNerCardCallback` during training (hyperparameters and evaluation collected from the Trainer), by
`MultiNerPipeline.save_pretrained`, and by `write_model_card` for any model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import EvalResult
from transformers import TrainerCallback

from .card_core import CardData, render_card, write_card
from .card_template_multiner import MODEL_CARD_TEMPLATE
from .encoders import hub_id_of_encoder

HYPERPARAMETERS = (
    "learning_rate",
    "num_train_epochs",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "weight_decay",
    "warmup_steps",
    "lr_scheduler_type",
    "seed",
)


@dataclass
class MultiNerCardData(CardData):
    """What a card says beyond the model's own config and processor.

    Args:
        model_id: the Hub id (or folder) used in the usage snippets.
        model_name: the card's title; defaults to a name made from the architecture and datasets.
        base_model: Hub id of the encoder; found from the model config when it was built with `from_encoder`.
        language, license: Hub metadata.
        datasets: Hub ids or names of the training data.
        hyperparameters: training settings shown in a table.
        eval_results: per evaluation dataset, `span_scores`-style results (micro P/R/F1 and `per_type`).
        eval_split: the split those results are on.
    """

    tags: list[str] = field(default_factory=lambda: ["multiner", "named-entity-recognition", "nested-ner", "mrc"])
    example: str = "Ada Lovelace was born in London and worked with Charles Babbage."


def generate_model_card(config, processor, card_data: MultiNerCardData | None = None) -> str:
    """The card of a model (its `MultiNerConfig`) with its processor, as Markdown with YAML metadata.

    Example:
        >>> card = generate_model_card(model.config, processor, MultiNerCardData(model_id="me/ner"))  # doctest: +SKIP
    """
    card_data = card_data or MultiNerCardData()
    architecture = "BERT-MRC" if config.share_heads and config.type_attention == "none" else "Multi-NER"
    return render_card(
        MODEL_CARD_TEMPLATE,
        config,
        processor,
        card_data,
        architecture,
        "token-classification",
        model_index=_eval_results(card_data) or None,
        architecture=architecture,
        queries=processor.queries,
        type_attention=config.type_attention,
        query_mode=config.query_mode,
        share_heads=config.share_heads,
        max_span_length=config.max_span_length,
        threshold_text=threshold_text(config),
    )


def threshold_text(config) -> str:
    """How the card states the decision threshold: calibrated, or the uncalibrated default."""
    if config.decision_threshold is None:
        return "0.5 (the default; not calibrated)"
    return f"{config.decision_threshold:g} (calibrated on held-out training data)"


def write_model_card(folder: str | Path, config, processor, card_data: MultiNerCardData | None = None) -> Path:
    """Write `README.md` (the model card) into a model folder and return its path."""
    return write_card(folder, generate_model_card(config, processor, card_data))


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
                write_model_card(args.output_dir, model.config, self.processor, self.card_data)

    def on_save(self, args, state, control, model=None, **kwargs):
        if model is not None and state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            write_model_card(folder, model.config, self.processor, self.card_data)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if model is not None and state.is_world_process_zero:
            write_model_card(args.output_dir, model.config, self.processor, self.card_data)


def _eval_results(card_data: MultiNerCardData) -> list[EvalResult]:
    return [
        EvalResult(
            task_type="token-classification",
            task_name="Named Entity Recognition",
            dataset_type=dataset,
            dataset_name=dataset,
            dataset_split=card_data.eval_split,
            metric_type=name,
            metric_name=f"strict span {name} (micro)",
            metric_value=float(scores[name]),
        )
        for dataset, scores in card_data.eval_results.items()
        for name in ("precision", "recall", "f1")
    ]


__all__ = [
    "MultiNerCardCallback",
    "MultiNerCardData",
    "generate_model_card",
    "hub_id_of_encoder",
    "scores_from_trainer_metrics",
    "write_model_card",
]
