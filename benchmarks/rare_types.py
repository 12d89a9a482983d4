"""What keeps Multi-NER from learning rare entity types from little data: one change at a time, same budget.

One run = one variant on one (sub)dataset, in its own process:

    python benchmarks/rare_types.py run --dataset conll2003 --train_samples 500 --variant baseline
    python benchmarks/rare_types.py report      # BENCHMARKS.md section from every result so far

Every run trains on the first N training sentences minus a held-out slice (`--calibration_fraction`, the last 10%),
calibrates the decision threshold on that slice (`multiner.training_multiner`), and decodes the development split
once at every threshold of the grid. It records dev F1 (micro, per type, P/R) at 0.5, at the calibrated threshold,
and, as a diagnosis only (chosen on dev, so not a result), at the best dev threshold. Settings as in
`side_by_side.py` (batch 8, lr 1e-4, seed 42), 3 epochs, warmup 10% of the steps.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import datasets
from transformers import Trainer, TrainingArguments, set_seed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, provenance, runs_footer, write_result, write_section  # noqa: E402
from side_by_side import FLAT, load  # noqa: E402

from multiner import MultiNerDataCollator, MultiNerModel, MultiNerProcessor  # noqa: E402
from multiner.readers import entity_types_of  # noqa: E402
from multiner.training_core import head_optimizer, hold_out_last  # noqa: E402
from multiner.training_multiner import calibrate_threshold, threshold_sweep  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "rare_types"
# the loss and query mode of the model before this study (positive weight 1, the paper's per-type queries, packed)
PACKED = {"query_mode": "packed", "positive_weight": 1.0}
# name -> (config overrides, learning rate of everything but the encoder (None: the encoder's), queries)
VARIANTS = {
    "baseline": (PACKED, None, "default"),
    "per_type": ({"positive_weight": 1.0}, None, "default"),
    "head_lr_1e-3": (PACKED, 1e-3, "default"),
    "pos_weight_5": ({**PACKED, "positive_weight": 5.0}, None, "default"),
    "shared_heads": ({**PACKED, "share_heads": True}, None, "default"),
    "names": (PACKED, None, "names"),
    "span_weight_1": ({**PACKED, "span_loss_weight": 1.0}, None, "default"),
    "pos_weight_10": ({**PACKED, "positive_weight": 10.0}, None, "default"),
    "head_lr_1e-3_pos_weight_5": ({**PACKED, "positive_weight": 5.0}, 1e-3, "default"),
    "head_lr_1e-3_pos_weight_5_per_type": ({"positive_weight": 5.0}, 1e-3, "default"),
}


def run(args) -> None:
    set_seed(args.seed)
    train, dev = load(args.dataset)
    types = entity_types_of(train)
    if args.train_samples:
        train = train[: args.train_samples]
    train, held_out = hold_out_last(train, args.calibration_fraction) if args.calibration_fraction else (train, [])
    overrides, head_learning_rate, queries = VARIANTS[args.variant]
    model = MultiNerModel.from_encoder(entity_types=types, **overrides)
    processor = MultiNerProcessor.from_model(model, queries={t: t for t in types} if queries == "names" else None)
    rows = datasets.Dataset.from_list(train)
    rows = rows.map(processor.preprocess, batched=True, remove_columns=rows.column_names)
    training = TrainingArguments(
        output_dir=str(RESULTS / "work"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=0.1,
        seed=args.seed,
        report_to=[],
        save_strategy="no",
        logging_steps=50,
        disable_tqdm=True,
    )
    optimizer = head_optimizer(model, args.learning_rate, head_learning_rate) if head_learning_rate else None
    trainer = Trainer(
        model=model,
        args=training,
        train_dataset=rows,
        data_collator=MultiNerDataCollator.from_processor(processor),
        optimizers=(optimizer, None),
    )
    start = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - start
    flat = FLAT[args.dataset]
    calibration = calibrate_threshold(model, processor, held_out, flat=flat)
    sweep = threshold_sweep(model, processor, dev, flat=flat, batch_size=32)

    def at(threshold: float) -> dict:
        scores = sweep[threshold]
        return {
            "threshold": threshold,
            "f1": scores["f1"],
            "precision": scores["precision"],
            "recall": scores["recall"],
            "per_type_f1": {name: value["f1"] for name, value in scores["per_type"].items()},
        }

    oracle = max(sweep, key=lambda threshold: sweep[threshold]["f1"])
    result = {
        "dataset": args.dataset,
        "variant": args.variant,
        "train_sentences": len(train),
        "held_out_sentences": len(held_out),
        "epochs": args.epochs,
        "seed": args.seed,
        "at_0.5": at(0.5),
        "calibrated": at(calibration.threshold) if calibration.threshold is not None else None,
        "held_out_f1_by_threshold": calibration.f1,
        "best_on_dev_diagnosis": at(oracle),
        "train_seconds": round(train_seconds, 1),
        **provenance(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"{args.dataset}-{args.train_samples or 'all'}-{args.variant}" + (
        f"-seed{args.seed}" if args.seed != 42 else ""
    )
    write_result(RESULTS / f"{name}.json", result, echo=True)


def report() -> None:
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]

    def cell(scores: dict | None) -> str:
        if scores is None:
            return "–"
        per_type = ", ".join(f"{name} {100 * value:.1f}" for name, value in scores["per_type_f1"].items())
        return (
            f"{100 * scores['f1']:.2f} (P {100 * scores['precision']:.1f} R {100 * scores['recall']:.1f}; {per_type})"
        )

    lines = [
        "## Rare types: what keeps Multi-NER from learning them (issue: rare types, calibrated decoding)",
        "",
        "Dev F1 (strict span, micro; per type) of one change at a time, trained on the first N training sentences",
        "minus the last 10% held out for calibration; 3 epochs, batch 8, lr 1e-4, warmup 10%, seed 42. The last",
        "column picks the threshold on dev: a diagnosis of how much is calibration, **not a result**.",
        "",
        "| dataset | N (trained + held out) | variant | at 0.5 | calibrated (threshold) | "
        "best threshold on dev (diagnosis) | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        calibrated = r["calibrated"]
        threshold = f" @{calibrated['threshold']:.2f}" if calibrated else ""
        oracle = r["best_on_dev_diagnosis"]
        lines.append(
            f"| {r['dataset']} | {r['train_sentences']} + {r['held_out_sentences']} | {r['variant']} | "
            f"{cell(r['at_0.5'])} | {cell(calibrated)}{threshold} | "
            f"{100 * oracle['f1']:.2f} @{oracle['threshold']:.2f} | {r['train_seconds']} |"
        )
    lines += runs_footer(results, "", "Commands, one per row:")
    write_section("rare_types", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run")
    one.add_argument("--dataset", choices=sorted(FLAT), required=True)
    one.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    one.add_argument("--train_samples", type=int, default=None)
    one.add_argument("--epochs", type=float, default=3)
    one.add_argument("--batch_size", type=int, default=8)
    one.add_argument("--learning_rate", type=float, default=1e-4)
    one.add_argument("--calibration_fraction", type=float, default=0.1)
    one.add_argument("--seed", type=int, default=42)
    commands.add_parser("report")
    args = parser.parse_args()
    run(args) if args.command == "run" else report()


if __name__ == "__main__":
    main()
