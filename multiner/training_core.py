"""Training helpers every family shares, not needed at inference (a saved model folder does not hold this module):
the two learning rates (pretrained weights, new parts), the held-out slice kept for calibration, and the choice of a
decision threshold from held-out F1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

# The Trainer settings a model card lists (every family's card).
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
THRESHOLD_GRID = tuple(round(0.05 * step, 2) for step in range(1, 19))
# Below this many gold entities in the held-out slice the F1 curve is too noisy to move a threshold from its default.
MIN_CALIBRATION_ENTITIES = 10
# A calibrated threshold replaces the default only when it beats it in this share of bootstrap resamples of the
# held-out examples (a one-sided test at 5%): on a small slice the best grid threshold is mostly noise.
CALIBRATION_CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000


# The Trainer defaults the joint and seq2seq scripts share (each adds its epochs, batch size and rates): warm up
# over the first tenth, save once at the end (the script does), log every 50 steps.
SCRIPT_DEFAULTS = {
    "warmup_steps": 0.1,
    "save_strategy": "no",
    "logging_steps": 50,
    "report_to": "none",
    "disable_tqdm": True,
}


@dataclass
class EncoderArguments:
    """The model flags every training script shares; a family's `ModelArguments` adds its own fields after them."""

    encoder: str | None = field(
        default=None, metadata={"help": "Encoder folder or Hub name (default: the packaged all-MiniLM-L6-v2)."}
    )
    head_learning_rate: float = field(
        default=1e-3,
        metadata={
            "help": "Learning rate of what starts untrained (heads, attention added to the encoder, BiRNN layers, a "
            "warm-started decoder's cross-attention); the pretrained weights get --learning_rate and the same "
            "schedule scales both. 0: one rate for all."
        },
    )


def head_optimizer(
    model,
    learning_rate: float,
    head_learning_rate: float,
    weight_decay: float = 0.0,
    gate_learning_rate: float | None = None,
    **adamw_kwargs,
) -> torch.optim.AdamW:
    """AdamW with `learning_rate` for the pretrained weights (the encoder; a seq2seq model's backbone) and
    `head_learning_rate` for what starts untrained (heads, attention added to the encoder, BiRNN layers); weight decay
    as the Trainer applies it (not on biases and norms). A model names its pretrained parameters with
    `is_pretrained_parameter(name)`, else they are those under `base_model_prefix`; frozen ones are left out. Give it
    to the stock Trainer as `optimizers=(optimizer, None)`: the Trainer's warmup and decay schedule scales both rates
    alike. A model's scalar gates (the parameters its `gate_parameters` names: the seq2seq family's `addition_gates`)
    are new parts without weight decay; `gate_learning_rate` gives them a rate of their own (a scalar moves about one
    learning rate a step, so at a head rate of 1e-4 a gate that starts at 0 stays near it for thousands of steps).

    Example:
        >>> optimizer = head_optimizer(model, learning_rate=1e-4, head_learning_rate=1e-3)  # doctest: +SKIP
        >>> trainer = Trainer(model=model, args=args, optimizers=(optimizer, None), ...)  # doctest: +SKIP
    """
    rates = [("learning_rate", learning_rate), ("head_learning_rate", head_learning_rate)]
    if gate_learning_rate is not None:
        rates.append(("gate_learning_rate", gate_learning_rate))
    for name, value in rates:
        if not value > 0:
            raise ValueError(f"{name}={value!r} must be > 0.")
    pretrained = getattr(model, "is_pretrained_parameter", None) or (
        lambda name: name.startswith(f"{model.base_model_prefix}.")
    )
    no_decay = ("bias", "norm")
    gates = set(getattr(model, "gate_parameters", ()))
    rate = {"pretrained": learning_rate, "new": head_learning_rate, "gate": gate_learning_rate or head_learning_rate}
    groups: dict[tuple[str, bool], list] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            kind = "gate" if name in gates else "pretrained" if pretrained(name) else "new"
            decays = kind != "gate" and parameter.dim() > 1 and not any(part in name.lower() for part in no_decay)
            groups.setdefault((kind, decays), []).append(parameter)
    return torch.optim.AdamW(
        [
            {"params": parameters, "lr": rate[kind], "weight_decay": weight_decay if decays else 0.0}
            for (kind, decays), parameters in groups.items()
        ],
        lr=learning_rate,
        **adamw_kwargs,
    )


def hold_out_last(examples: Sequence, fraction: float) -> tuple[list, list]:
    """(the examples to train on, the held-out slice): the last `fraction` of `examples`, at least one, kept apart to
    calibrate thresholds on (`training_multiner.calibrate_threshold`, `training_joint_er.calibrate_joint_thresholds`).

    Example:
        >>> hold_out_last(list(range(10)), 0.2)
        ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if not 0 < fraction < 1:
        raise ValueError(f"calibration_fraction={fraction!r} must be in (0, 1); 0 turns calibration off.")
    count = max(1, round(fraction * len(examples)))
    return list(examples[: len(examples) - count]), list(examples[len(examples) - count :])


def choose_threshold(f1_by_threshold: dict[float, float]) -> float:
    """The grid threshold with the best F1 averaged with its two neighbours (a small held-out slice gives a jagged
    curve); ties go to the threshold nearest 0.5.

    Example:
        >>> choose_threshold({0.1: 0.2, 0.2: 0.8, 0.3: 0.7, 0.4: 0.6, 0.5: 0.5})  # the lone peak at 0.2 smoothed away
        0.3
    """
    grid = sorted(f1_by_threshold)
    values = [f1_by_threshold[threshold] for threshold in grid]
    smoothed = [sum(values[max(0, i - 1) : i + 2]) / len(values[max(0, i - 1) : i + 2]) for i in range(len(values))]
    best = max(smoothed)
    return min((t for t, s in zip(grid, smoothed) if s >= best - 1e-9), key=lambda t: abs(t - 0.5))


def gain_confidence(
    chosen: torch.Tensor, default: torch.Tensor, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> float:
    """The share of bootstrap resamples of the held-out examples in which decoding at a chosen threshold scores a
    higher micro F1 than at the default one. `chosen` and `default` hold each example's (true positives, false
    positives, false negatives) at the two thresholds, `[examples, 3]`; the resamples are the same for both (paired)
    and fixed by `seed`.

    Example:
        >>> better = torch.tensor([[2, 0, 0]] * 30)
        >>> worse = torch.tensor([[1, 1, 1]] * 30)
        >>> gain_confidence(better, worse)
        1.0
    """
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(chosen), (resamples, len(chosen)), generator=generator)

    def micro_f1(counts: torch.Tensor) -> torch.Tensor:
        true_positives, false_positives, false_negatives = counts.double()[picks].sum(dim=1).unbind(-1)
        return 2 * true_positives / (2 * true_positives + false_positives + false_negatives).clamp(min=1)

    return float((micro_f1(chosen) > micro_f1(default)).double().mean())


def parse_script_arguments(argument_classes: Sequence[type], argv: Sequence[str] | None = None, **defaults):
    """The training scripts' one command line: `HfArgumentParser` over the script's dataclasses and
    `TrainingArguments` (so every Trainer option works on every script), with the family's defaults for Trainer
    fields (`num_train_epochs=20`, ...). A lone `.json` argument is a file of arguments, as in transformers'
    examples. `--resume_from_checkpoint` is checked and resolved here (`resume_checkpoint`). Returns one instance per
    class, `TrainingArguments` last."""
    import json
    import sys

    from transformers import HfArgumentParser, TrainingArguments

    parser = HfArgumentParser((*argument_classes, TrainingArguments))
    parser.set_defaults(**defaults)
    if argv is None and len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        with open(sys.argv[1], encoding="utf-8") as file:
            parsed = parser.parse_dict({**defaults, **json.load(file)})
    else:
        parsed = parser.parse_args_into_dataclasses(list(argv) if argv is not None else None)
    parsed[-1].resume_from_checkpoint = resume_checkpoint(parsed[-1])
    return parsed


def trainer_optimizer(
    model, training_args, head_learning_rate: float | None, gate_learning_rate: float | None = None
) -> torch.optim.AdamW | None:
    """`head_optimizer` under the Trainer's settings (`learning_rate` for the pretrained weights, weight decay, Adam
    betas and epsilon, the fused kernel when the Trainer would pick it); None (the Trainer's own, one rate) when
    `head_learning_rate` is unset or 0. Pass it as `Trainer(..., optimizers=(optimizer, None))`."""
    if not head_learning_rate:
        return None
    return head_optimizer(
        model,
        training_args.learning_rate,
        head_learning_rate,
        weight_decay=training_args.weight_decay,
        gate_learning_rate=gate_learning_rate,
        betas=(training_args.adam_beta1, training_args.adam_beta2),
        eps=training_args.adam_epsilon,
        fused=training_args.optim == "adamw_torch_fused",
    )


def write_results(output_dir: str, script: str, argv: Sequence[str] | None, results: dict) -> dict:
    """Every training script's record, `output_dir/results.json`: the command, the multiner version and `results`."""
    import json
    import sys
    from pathlib import Path

    from . import __version__

    arguments = sys.argv[1:] if argv is None else list(argv)
    record = {"command": " ".join(["python", script, *arguments]), "multiner": __version__, **results}
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    Path(output_dir, "results.json").write_text(json.dumps(record, indent=1, default=str))
    return record


def epoch_scores_callback(score: Callable[[torch.nn.Module], dict], curve: list):
    """A Trainer callback that appends `{"epoch": e, **score(model)}` to `curve` at the end of every epoch, on the
    main process, the model in eval mode while it is scored (a development curve: `--score_each_epoch`). Each entry
    also goes into the Trainer's log history, so a checkpoint holds the curve so far and a resumed training
    (`--resume_from_checkpoint`) starts `curve` from it."""
    from transformers import TrainerCallback

    class EpochScores(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            curve[:] = [entry["dev_curve"] for entry in state.log_history if "dev_curve" in entry]

        def on_epoch_end(self, args, state, control, model=None, **kwargs):
            if not state.is_world_process_zero:
                return
            model.eval()
            with torch.no_grad():
                curve.append({"epoch": round(state.epoch, 2), **score(model)})
            model.train()
            state.log_history.append({"epoch": curve[-1]["epoch"], "step": state.global_step, "dev_curve": curve[-1]})
            print(f"epoch {curve[-1]['epoch']}: {curve[-1]}")

    return EpochScores()


def resume_checkpoint(training_args) -> str | None:
    """The checkpoint `--resume_from_checkpoint` names, checked (None when not given): a checkpoint folder the
    Trainer wrote (`--save_strategy epoch` or `steps`), or `last` for the newest complete one in `--output_dir` (the
    Trainer writes `trainer_state.json` last, so a folder without it, from a run stopped while saving, is passed
    over, with a warning). The stock Trainer leaves this field to the script; every training script here resumes
    from it (weights, optimizer, schedule, random state and data order; a `--score_each_epoch` curve too).
    `parse_script_arguments` calls it."""
    import re
    import warnings
    from pathlib import Path

    checkpoint = training_args.resume_from_checkpoint
    if checkpoint is None:
        return None
    if checkpoint == "last":
        folder = Path(training_args.output_dir)
        numbered = [path for path in folder.glob("checkpoint-*") if re.fullmatch(r"checkpoint-\d+", path.name)]
        numbered.sort(key=lambda path: int(path.name.split("-")[1]), reverse=True)
        complete = [path for path in numbered if (path / "trainer_state.json").is_file()]
        if not complete:
            raise ValueError(
                f"--resume_from_checkpoint last: no complete checkpoint-N folder in --output_dir {folder}; save them "
                "with --save_strategy epoch (or steps), or name a checkpoint folder."
            )
        if complete[0] != numbered[0]:
            warnings.warn(
                f"{numbered[0]} has no trainer_state.json (a run stopped while saving it): resuming from "
                f"{complete[0].name}.",
                stacklevel=2,
            )
        return str(complete[0])
    if not Path(checkpoint, "trainer_state.json").is_file():
        raise ValueError(
            f"--resume_from_checkpoint {checkpoint}: not a checkpoint the Trainer wrote (no trainer_state.json "
            "there); name a checkpoint-N folder of an earlier run, or `last` for the newest one in --output_dir."
        )
    return checkpoint


def train_on_examples(
    model,
    processor,
    collator_class,
    examples: list[dict],
    training_args,
    head_learning_rate,
    callbacks=None,
    gate_learning_rate: float | None = None,
):
    """The joint and seq2seq scripts' training: `examples` preprocessed into windows (once, on the main process
    first), the unrepresentable gold items counted, the stock Trainer with the two learning rates (and `callbacks`).
    Returns the unrepresentable counts per reason and the training's record for `results.json`: its seconds, the
    training sentences per second, and, when it resumed from a checkpoint (`resume_checkpoint`), which one and the
    share of the schedule this run trained (the seconds cover only that part)."""
    import json
    import time
    from pathlib import Path

    import datasets
    from transformers import Trainer

    data = datasets.Dataset.from_list(examples)
    with training_args.main_process_first(desc="preprocess"):
        features = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    unrepresentable = dict(processor.count_unrepresentable(features))
    print(f"{len(examples)} training examples, {len(features)} windows; left out: {unrepresentable or 'nothing'}")
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=features,
        processing_class=processor,
        data_collator=collator_class.from_processor(processor),
        optimizers=(trainer_optimizer(model, training_args, head_learning_rate, gate_learning_rate), None),
        callbacks=callbacks,
    )
    checkpoint = training_args.resume_from_checkpoint  # checked by parse_script_arguments
    first_step = 0
    if checkpoint:
        first_step = json.loads(Path(checkpoint, "trainer_state.json").read_text())["global_step"]
    started = time.time()
    trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.time() - started
    share = (trainer.state.global_step - first_step) / max(trainer.state.max_steps, 1)
    record = {
        "train_seconds": round(seconds, 1),
        "train_sentences_per_second": round(len(examples) * training_args.num_train_epochs * share / seconds, 1),
    }
    if checkpoint:
        record["resumed"] = {"from": checkpoint, "trained_share": round(share, 4)}
    return unrepresentable, record


__all__ = [
    "SCRIPT_DEFAULTS",
    "EncoderArguments",
    "HYPERPARAMETERS",
    "MIN_CALIBRATION_ENTITIES",
    "THRESHOLD_GRID",
    "choose_threshold",
    "epoch_scores_callback",
    "head_optimizer",
    "hold_out_last",
    "parse_script_arguments",
    "resume_checkpoint",
    "train_on_examples",
    "trainer_optimizer",
    "write_results",
]
