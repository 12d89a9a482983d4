"""Multi-NER vs BERT-MRC vs token classification on real data: same encoder, data, epochs, batch size and seed.

One run = one system on one dataset, in its own process (so its peak memory is its own):

    python benchmarks/side_by_side.py run --dataset conll2003 --system multi-ner-full [--epochs 1] [--train_samples N]
    python benchmarks/side_by_side.py report        # BENCHMARKS.md section from every result so far

Systems: multi-ner-full, multi-ner-token (type attention "full" / "token"), multi-ner-packed (type attention
"full", all queries and the context in one sequence), bert-mrc (shared heads, no type attention),
token-classification (transformers' AutoModelForTokenClassification, IOB2 tags, flat only).
Datasets: conll2003 (eng.train -> eng.testa, flat), conll04 (its entities, train -> dev, flat), genia (train ->
dev, nested) and wnut16 (tweets, ten types, train -> dev, flat), from ../shared/data.
Each run records dev strict-span micro and per-type F1 (and seqeval on CoNLL), training wall time and
sentences/s, inference sentences/s and peak resident memory in benchmarks/results/side_by_side/.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
    set_seed,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, runs_footer, write_result, write_section  # noqa: E402

from multiner import BERT_MRC, MultiNerDataCollator, MultiNerModel, MultiNerProcessor, default_encoder_path  # noqa: E402
from multiner.evaluation import seqeval_scores, span_scores  # noqa: E402
from multiner.readers import (  # noqa: E402
    entity_types_of,
    iob_to_spans,
    read_conll,
    read_spert_json,
    read_word_span_jsonl,
)
from multiner.training_core import head_optimizer, hold_out_last  # noqa: E402
from multiner.training_multiner import calibrate_threshold, rarity_positive_weights  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "side_by_side"
SYSTEMS = {
    "multi-ner-full": {"type_attention": "full"},
    "multi-ner-token": {"type_attention": "token"},
    "multi-ner-packed": {"type_attention": "full", "query_mode": "packed"},
    "bert-mrc": dict(BERT_MRC),
    "token-classification": None,
}
FLAT = {"conll2003": True, "conll04": True, "genia": False, "wnut16": True}


def load(dataset: str) -> tuple[list[dict], list[dict]]:
    if dataset == "conll2003":
        folder = DATA / "conll2003"
        return read_conll(folder / "eng.train"), read_conll(folder / "eng.testa")
    if dataset == "conll04":  # its entities only: the joint family's data, for the entity-side comparison
        folder = DATA / "conll04"
        return read_spert_json(folder / "train_triples.json"), read_spert_json(folder / "dev_triples.json")
    if dataset == "wnut16":  # tweets, ten types new to the project, IOB2
        folder = DATA / "wnut16"
        return read_conll(folder / "train.conll"), read_conll(folder / "dev.conll")
    folder = DATA / "genia"
    return read_word_span_jsonl(folder / "train.jsonlines"), read_word_span_jsonl(folder / "dev.jsonlines")


def timed_training(args, model, rows: datasets.Dataset, collator, optimizer=None) -> tuple[float, int]:
    """Train with the stock Trainer under the run's settings: the wall time in seconds and the process's peak resident
    memory in MB when training ends (before any prediction)."""
    trainer = Trainer(
        model=model, args=arguments(args), train_dataset=rows, data_collator=collator, optimizers=(optimizer, None)
    )
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, peak_memory_mb()


def peak_memory_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def arguments(args) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(RESULTS / "work"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup,
        seed=args.seed,
        report_to=[],
        save_strategy="no",
        logging_steps=100,
        disable_tqdm=True,
    )


def run_mrc(args, train: list[dict], dev: list[dict], types: list[str]) -> tuple[list, float, float, dict]:
    """(dev predictions, training seconds, prediction seconds, what the row records of the recipe)."""
    overrides = {"positive_weight": args.positive_weight} if args.positive_weight is not None else {}
    if args.rarity_weights:  # from --positive_weight, else the config's default
        overrides["positive_weight"] = rarity_positive_weights(train, types, args.positive_weight)
    if args.no_casing_features:
        overrides["casing_features"] = False
    if args.char_features:
        overrides["char_features"] = True
    if args.no_shared_boundary_head:
        overrides["shared_boundary_head"] = False
    model = MultiNerModel.from_encoder(args.encoder, entity_types=types, **{**SYSTEMS[args.system], **overrides})
    processor = MultiNerProcessor.from_model(model)
    held_out = []
    if args.calibration_fraction:  # as examples/train.py: the last fraction of the training sentences
        train, held_out = hold_out_last(train, args.calibration_fraction)
    rows = datasets.Dataset.from_list(train)
    rows = rows.map(processor.preprocess, batched=True, remove_columns=rows.column_names)
    optimizer = None
    if args.head_learning_rate:
        optimizer = head_optimizer(model, args.learning_rate, args.head_learning_rate)
    collator = MultiNerDataCollator.from_processor(processor)
    train_seconds, train_peak = timed_training(args, model, rows, collator, optimizer)
    calibration = calibrate_threshold(model, processor, held_out, flat=FLAT[args.dataset]) if held_out else None
    if args.save_model:
        # kept for error analysis (threshold sweep, boundary vs type errors); work/ is not committed
        seed = "" if args.seed == 42 else f"-seed{args.seed}"
        folder = RESULTS / "work" / f"{args.dataset}-{args.system}{seed}"
        model.save_pretrained(folder)
        processor.save_pretrained(folder)

    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        # shortest first, as the pipeline runs a list
        order = sorted(range(len(dev)), key=lambda i: len(dev[i]["tokens"]))
        # the model's threshold (calibrated, else 0.5) and, after calibration, 0.5 for the record
        thresholds = [None, 0.5] if calibration else [None]
        found = {threshold: [None] * len(dev) for threshold in thresholds}
        for begin in range(0, len(order), 32):
            chunk = order[begin : begin + 32]
            batch = processor(tokens=[dev[i]["tokens"] for i in chunk]).to(model.device)
            # as the pipeline predicts: only spans whose start and end clear the lowest threshold are scored
            outputs = model(**batch, span_threshold=min(model.config.threshold, 0.5))
            for threshold in thresholds:
                decoded = processor.decode(outputs, batch, threshold, flat=FLAT[args.dataset])
                for index, entities in zip(chunk, decoded):
                    found[threshold][index] = [(e["entity_group"], e["start"], e["end"]) for e in entities]
    record = {
        "positive_weight": model.config.positive_weight,
        "casing_features": model.config.casing_features,
        "char_features": model.config.char_features,
        "shared_boundary_head": model.config.shared_boundary_head,
        "decision_threshold": calibration.threshold if calibration else None,
        "calibration_confidence": calibration.confidence if calibration else None,
        "predicted_at_0.5": found.get(0.5),
        "train_peak_memory_mb": train_peak,
    }
    return found[None], train_seconds, time.perf_counter() - start, record


def run_token_classification(
    args, train: list[dict], dev: list[dict], types: list[str]
) -> tuple[list, float, float, dict]:
    labels = ["O"] + [f"{prefix}-{name}" for name in types for prefix in ("B", "I")]
    label_id = {label: index for index, label in enumerate(labels)}
    encoder = args.encoder or default_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        encoder, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_id
    )

    def tags(example: dict) -> list[str]:
        word_tags = ["O"] * len(example["tokens"])
        for entity in example["entities"]:
            word_tags[entity["start"]] = f"B-{entity['label']}"
            for position in range(entity["start"] + 1, entity["end"]):
                word_tags[position] = f"I-{entity['label']}"
        return word_tags

    def encode(example: dict) -> dict:
        encoding = tokenizer(example["tokens"], is_split_into_words=True, truncation=True, max_length=256)
        word_tags, previous, label_ids = tags(example), None, []
        for word in encoding.word_ids():
            label_ids.append(-100 if word is None or word == previous else label_id[word_tags[word]])
            previous = word
        return {**encoding, "labels": label_ids}

    rows = datasets.Dataset.from_list(train).map(encode, remove_columns=["tokens", "entities"])
    train_seconds, train_peak = timed_training(args, model, rows, DataCollatorForTokenClassification(tokenizer))

    model.eval()
    predicted = [None] * len(dev)
    start = time.perf_counter()
    order = sorted(range(len(dev)), key=lambda i: len(dev[i]["tokens"]))
    with torch.no_grad():
        for begin in range(0, len(order), 32):
            chunk = order[begin : begin + 32]
            encoding = tokenizer(
                [dev[i]["tokens"] for i in chunk],
                is_split_into_words=True,
                truncation=True,
                max_length=256,
                padding=True,
                return_tensors="pt",
            )
            best = model(**encoding.to(model.device)).logits.argmax(-1).cpu().numpy()
            for row, index in enumerate(chunk):
                word_tags = ["O"] * len(dev[index]["tokens"])
                previous = None
                for position, word in enumerate(encoding.word_ids(row)):
                    if word is not None and word != previous:
                        word_tags[word] = labels[best[row, position]]
                    previous = word
                predicted[index] = [(s["label"], s["start"], s["end"]) for s in iob_to_spans(word_tags)]
    return predicted, train_seconds, time.perf_counter() - start, {"train_peak_memory_mb": train_peak}


def run(args) -> None:
    set_seed(args.seed)
    train, dev = load(args.dataset)
    types = entity_types_of(train)
    if args.train_samples:
        train = train[: args.train_samples]
    if args.dev_samples:
        dev = dev[: args.dev_samples]
    runner = run_token_classification if SYSTEMS[args.system] is None else run_mrc
    if SYSTEMS[args.system] is None and not FLAT[args.dataset]:
        raise ValueError("token classification reads flat tags only; it has no nested (GENIA) row.")
    predicted, train_seconds, predict_seconds, record = runner(args, train, dev, types)
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in dev]
    scores = span_scores(gold, predicted, types)
    result = {
        "dataset": args.dataset,
        "system": args.system,
        "train_sentences": len(train),
        "subsampled": bool(args.train_samples or args.dev_samples),
        "dev_sentences": len(dev),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "warmup": args.warmup,
        "head_learning_rate": args.head_learning_rate,
        "positive_weight": record.get("positive_weight"),
        "casing_features": record.get("casing_features"),
        "char_features": record.get("char_features"),
        "shared_boundary_head": record.get("shared_boundary_head"),
        "calibration_fraction": args.calibration_fraction,
        "decision_threshold": record.get("decision_threshold"),
        "calibration_confidence": record.get("calibration_confidence"),
        "dev_f1": scores["f1"],
        "dev_precision": scores["precision"],
        "dev_recall": scores["recall"],
        "dev_per_type_f1": {name: value["f1"] for name, value in scores["per_type"].items()},
        "dev_per_type": {
            name: {key: value[key] for key in ("precision", "recall", "f1") if key in value}
            for name, value in scores["per_type"].items()
        },
        "train_seconds": round(train_seconds, 1),
        "train_sentences_per_second": round(len(train) * args.epochs / train_seconds, 2),
        "predict_sentences_per_second": round(len(dev) / predict_seconds, 2),
        "train_peak_memory_mb": record["train_peak_memory_mb"],
        "peak_memory_mb": peak_memory_mb(),
        **gpu_memory(),
        **provenance(),
    }
    if record.get("predicted_at_0.5") is not None:
        result["dev_f1_at_0.5"] = span_scores(gold, record["predicted_at_0.5"], types)["f1"]
    if FLAT[args.dataset]:
        result["dev_seqeval_f1"] = seqeval_scores([len(example["tokens"]) for example in dev], gold, predicted)["f1"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = f"-ep{args.epochs:g}" if args.epochs != 1 else ""
    suffix += f"-sub{args.train_samples}" if args.train_samples else ""
    suffix += f"-dev{args.dev_samples}" if args.dev_samples else ""
    suffix += f"-wu{args.warmup:g}" if args.warmup != 100 else ""
    suffix += "-recipe" if args.head_learning_rate or args.calibration_fraction else ""
    suffix += f"-cal{args.calibration_fraction:g}" if args.calibration_fraction else ""
    suffix += f"-pw{args.positive_weight:g}" if args.positive_weight is not None else ""
    suffix += "-rarity" if args.rarity_weights else ""
    suffix += "-casing" if result["casing_features"] else ""
    suffix += "-chars" if result.get("char_features") else ""
    suffix += "-sharedbounds" if result.get("shared_boundary_head") else ""
    suffix += f"-seed{args.seed}" if args.seed != 42 else ""
    write_result(RESULTS / f"{args.dataset}-{args.system}{suffix}.json", result, echo=True)


def gpu_memory() -> dict:
    """The peak GPU memory of this process, on a machine with one."""
    if not torch.cuda.is_available():
        return {}
    return {"peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20)}


def recipe(result: dict) -> str:
    """The row's training recipe in a few words (rows from before these options: 100 warmup steps, one rate)."""
    warmup = result.get("warmup", 100)
    words = [f"warmup {warmup:g} steps" if warmup >= 1 else f"warmup {100 * warmup:g}%"]
    if result.get("head_learning_rate"):
        words.append(f"heads lr {result['head_learning_rate']:g}")
    weight = result.get("positive_weight")
    if isinstance(weight, list):
        words.append(f"positive weights by rarity ({min(weight):g}–{max(weight):g})")
    elif weight is not None:
        words.append(f"positive weight {weight:g}")
    if result.get("casing_features"):
        words.append("casing")
    if result.get("char_features"):
        words.append("characters")
    if result.get("shared_boundary_head"):
        words.append("shared boundary head")
    if result.get("calibration_fraction"):
        threshold, confidence = result.get("decision_threshold"), result.get("calibration_confidence")
        held = f"{100 * result['calibration_fraction']:g}% held out"
        if confidence is not None:
            held += f", bootstrap {100 * confidence:.0f}%"
        words.append(f"threshold {threshold:g} ({held})" if threshold is not None else f"0.5 kept ({held})")
        if "dev_f1_at_0.5" in result:
            words.append(f"dev F1 at 0.5: {100 * result['dev_f1_at_0.5']:.2f}")
    return ", ".join(words)


def peak_memory(result: dict) -> str:
    """The peak resident memory after training and of the whole run (rows from before the split: the whole run)."""
    if "train_peak_memory_mb" not in result:
        return f"{result['peak_memory_mb']}"
    return f"{result['train_peak_memory_mb']} / {result['peak_memory_mb']}"


def report() -> None:
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    lines = [
        "## Side by side on real data (issue: training examples and benchmark)",
        "",
        "Same encoder (all-MiniLM-L6-v2), same data, epochs, batch size (sentences), learning rate and seed per row;",
        "F1 is strict span micro F1 on the **development** split (seqeval in brackets on CoNLL-2003). Subsampled",
        "training sets are the first N training sentences and say so.",
        "",
        "| dataset | system | train sentences | epochs | recipe | dev F1 | per-type dev F1 | train s | train sent/s | "
        "predict sent/s | peak MB (after training / whole run) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        f1 = f"{100 * r['dev_f1']:.2f}" + (f" ({100 * r['dev_seqeval_f1']:.2f})" if "dev_seqeval_f1" in r else "")
        per_type = ", ".join(f"{name} {100 * value:.1f}" for name, value in r["dev_per_type_f1"].items())
        sample = f"{r['train_sentences']}" + (" (subsample)" if r["subsampled"] else "")
        lines.append(
            f"| {r['dataset']} | {r['system']} | {sample} | {r['epochs']} | {recipe(r)} | {f1} | {per_type} | "
            f"{r['train_seconds']} | {r['train_sentences_per_second']} | {r['predict_sentences_per_second']} | "
            f"{peak_memory(r)} |"
        )
    lines += runs_footer(results, "", "Commands, one per row:")
    write_section("side_by_side", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run")
    one.add_argument("--dataset", choices=sorted(FLAT), required=True)
    one.add_argument("--system", choices=sorted(SYSTEMS), required=True)
    one.add_argument("--epochs", type=float, default=1)
    one.add_argument("--batch_size", type=int, default=8)
    one.add_argument("--learning_rate", type=float, default=1e-4)
    one.add_argument("--train_samples", type=int, default=None)
    one.add_argument("--seed", type=int, default=42)
    one.add_argument("--warmup", type=float, default=100, help="warmup steps; below 1, a fraction of all steps")
    recipe = "Multi-NER recipe (examples/train.py defaults: --head_learning_rate 1e-3 --calibration_fraction 0.1)"
    one.add_argument("--head_learning_rate", type=float, default=None, help=f"{recipe}; default: one rate")
    one.add_argument("--calibration_fraction", type=float, default=0.0, help=f"{recipe}; default: threshold 0.5")
    one.add_argument("--positive_weight", type=float, default=None, help="MultiNerConfig.positive_weight override")
    one.add_argument(
        "--rarity_weights",
        action="store_true",
        help="each type's positive weight by its rarity in the training sentences (rarity_positive_weights)",
    )
    one.add_argument("--dev_samples", type=int, default=None, help="only for smoke runs: the first N dev sentences")
    one.add_argument("--save_model", action="store_true", help="save a Multi-NER model under results/work/")
    one.add_argument(
        "--no_casing_features", action="store_true", help="Multi-NER without casing_features (on by default)"
    )
    one.add_argument(
        "--char_features", action="store_true", help="Multi-NER with char_features (a character BiLSTM per word)"
    )
    one.add_argument(
        "--no_shared_boundary_head",
        action="store_true",
        help="Multi-NER without shared_boundary_head (one start/end pair every type adds to its own; on by default)",
    )
    one.add_argument("--encoder", default=None, help="encoder folder (default: the packaged MiniLM)")
    commands.add_parser("report")
    args = parser.parse_args()
    run(args) if args.command == "run" else report()


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
