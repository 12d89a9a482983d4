"""Sentences vs whole documents: one trained model scored both ways on CoNLL-2003 dev, through the pipeline.

    python benchmarks/documents.py run --system multi-ner-packed --train_on sentences --span_features boundaries
    python benchmarks/documents.py run --system multi-ner-packed --train_on both --span_features interior
    python benchmarks/documents.py run --system token-classification --train_on sentences
    python benchmarks/documents.py report          # BENCHMARKS.md section from every result so far

Training data (`--train_on`): `sentences`, every training sentence as its own text (words joined by spaces);
`documents`, every `-DOCSTART-` document cut into runs of 2 to 8 consecutive sentences joined by newlines (the
processor windows them like any long text); `both`, the two together (about twice the tokens of `sentences`).
Evaluation: the development split through the pipeline (`pipeline("multi-ner", flat=True)`, or transformers'
token-classification pipeline with `aggregation_strategy="first"`, `stride=64`), once with every sentence as its own
text and once with every document as one text (sentences joined by newlines). Strict span F1 on character offsets;
a predicted entity that runs across a sentence boundary matches nothing and is counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import datasets
import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, runs_footer, write_result, write_section  # noqa: E402

from multiner import (  # noqa: E402
    MultiNerDataCollator,
    MultiNerModel,
    MultiNerPipeline,
    MultiNerProcessor,
    default_encoder_path,  # noqa: E402
)
from multiner.evaluation import span_scores  # noqa: E402
from multiner.readers import TRAIN_ON, entity_types_of, read_conll, sentences_to_text, training_texts  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "documents"
SYSTEMS = {"multi-ner-packed": {"type_attention": "full", "query_mode": "packed"}, "token-classification": None}


def sentence_bounds(document: list[dict]) -> list[tuple[int, int]]:
    """Character ranges of the sentences of a document joined by newlines."""
    bounds, start = [], 0
    for sentence in document:
        end = start + len(" ".join(sentence["tokens"]))
        bounds.append((start, end))
        start = end + 1
    return bounds


def crosses(bounds: list[tuple[int, int]], start: int, end: int) -> bool:
    return not any(first <= start and end <= last for first, last in bounds)


def evaluate(predict, dev_documents: list[list[dict]], types: list[str]) -> dict:
    """Strict span scores of `predict(texts) -> [[(label, start, end)]]` on sentences and on whole documents."""
    result = {}
    sentences = [sentences_to_text([s]) for document in dev_documents for s in document]
    documents = [sentences_to_text(document) for document in dev_documents]
    for level, examples in (("sentence", sentences), ("document", documents)):
        gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in examples]
        start = time.perf_counter()
        predicted = predict([example["text"] for example in examples])
        seconds = time.perf_counter() - start
        scores = span_scores(gold, predicted, types)
        result[level] = {
            "f1": scores["f1"],
            "precision": scores["precision"],
            "recall": scores["recall"],
            "per_type_f1": {name: value["f1"] for name, value in scores["per_type"].items()},
            "predict_seconds": round(seconds, 1),
        }
        if level == "document":
            result[level]["crossing_predictions"] = sum(
                crosses(sentence_bounds(document), start, end)
                for document, found in zip(dev_documents, predicted)
                for _, start, end in found
            )
    return result


def train_multi_ner(args, texts: list[dict], types: list[str]):
    model = MultiNerModel.from_encoder(
        args.encoder, entity_types=types, span_features=args.span_features, **SYSTEMS[args.system]
    )
    processor = MultiNerProcessor.from_model(model)
    rows = datasets.Dataset.from_list(texts)
    rows = rows.map(processor.preprocess, batched=True, remove_columns=rows.column_names)
    seconds = train(args, model, rows, MultiNerDataCollator.from_processor(processor))
    if args.save_model:
        folder = RESULTS / "work" / run_name(args)
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
    ner = MultiNerPipeline(model=model.eval(), processor=processor, device=device())

    def predict(batch_texts: list[str]) -> list[list[tuple]]:
        found = ner(batch_texts, batch_size=32, flat=True)
        return [[(e["entity_group"], e["start"], e["end"]) for e in entities] for entities in found]

    return predict, seconds, len(rows)


def train_token_classification(args, texts: list[dict], types: list[str]):
    labels = ["O"] + [f"{prefix}-{name}" for name in types for prefix in ("B", "I")]
    label_id = {label: index for index, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = AutoModelForTokenClassification.from_pretrained(
        args.encoder, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_id
    )

    def encode(example: dict) -> dict:
        # character-level gold to token tags: a token inside an entity gets I-, its first token B-
        encoding = tokenizer(example["text"], return_offsets_mapping=True, truncation=True, max_length=256)
        tags = [-100 if end == 0 else label_id["O"] for _, end in encoding["offset_mapping"]]
        starts = {(e["start"], e["end"]): e["label"] for e in example["entities"]}
        for (start, end), label in starts.items():
            first = True
            for position, (token_start, token_end) in enumerate(encoding["offset_mapping"]):
                if token_end > token_start and start <= token_start and token_end <= end:
                    tags[position] = label_id[f"{'B' if first else 'I'}-{label}"]
                    first = False
        encoding.pop("offset_mapping")
        return {**encoding, "labels": tags}

    rows = datasets.Dataset.from_list(texts).map(encode, remove_columns=["text", "entities"])
    seconds = train(args, model, rows, DataCollatorForTokenClassification(tokenizer))
    ner = pipeline(
        "token-classification",
        model=model.eval(),
        tokenizer=tokenizer,
        aggregation_strategy="first",
        stride=64,
        device=device(),
    )

    def predict(batch_texts: list[str]) -> list[list[tuple]]:
        found = ner(batch_texts, batch_size=32)
        return [[(e["entity_group"], e["start"], e["end"]) for e in entities] for entities in found]

    return predict, seconds, len(rows)


def train(args, model, rows, collator) -> float:
    arguments = TrainingArguments(
        output_dir=str(RESULTS / "work" / "trainer"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=100,
        seed=args.seed,
        report_to=[],
        save_strategy="no",
        logging_steps=200,
        disable_tqdm=True,
    )
    start = time.perf_counter()
    Trainer(model=model, args=arguments, train_dataset=rows, data_collator=collator).train()
    return time.perf_counter() - start


def device() -> int:
    return 0 if torch.cuda.is_available() else -1


def run_name(args) -> str:
    features = f"-{args.span_features}" if SYSTEMS[args.system] is not None else ""
    name = f"{args.system}{features}-{args.train_on}"
    name += f"-ep{args.epochs:g}" if args.epochs != 1 else ""
    name += f"-seed{args.seed}" if args.seed != 42 else ""
    return name + (f"-sub{args.train_documents}" if args.train_documents else "")


def run(args) -> None:
    set_seed(args.seed)
    folder = Path(args.data) / "conll2003"
    train_documents = read_conll(folder / "eng.train", documents=True)
    dev_documents = read_conll(folder / "eng.testa", documents=True)
    if args.train_documents:
        train_documents = train_documents[: args.train_documents]
    if args.dev_documents:
        dev_documents = dev_documents[: args.dev_documents]
    types = entity_types_of(sentence for document in train_documents for sentence in document)
    texts = training_texts(train_documents, args.train_on, args.seed)
    trainer = train_token_classification if SYSTEMS[args.system] is None else train_multi_ner
    predict, train_seconds, rows = trainer(args, texts, types)

    result = evaluate(predict, dev_documents, types)
    result.update(
        {
            "system": args.system,
            "span_features": args.span_features if SYSTEMS[args.system] is not None else None,
            "train_on": args.train_on,
            "train_texts": len(texts),
            "train_rows": rows,
            "train_documents": len(train_documents),
            "dev_documents": len(dev_documents),
            "subsampled": bool(args.train_documents or args.dev_documents),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "seed": args.seed,
            "train_seconds": round(train_seconds, 1),
            **provenance(),
        }
    )
    write_result(RESULTS / f"{run_name(args)}.json", result, echo=True)


def report() -> None:
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    lines = [
        "## Sentences vs whole documents (issue: Multi-NER on real documents)",
        "",
        "CoNLL-2003 **development** split through the pipeline, each trained model scored twice: every sentence as",
        "its own text, and every `-DOCSTART-` document as one text (sentences joined by newlines). Strict span F1 on",
        'character offsets; "crossing": predicted entities that run across a sentence boundary (document level).',
        "",
        "| system | span features | trained on | rows | epochs | seed | sentence F1 | document F1 | doc − sent | "
        "crossing | per-type document F1 | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sentence, document = 100 * r["sentence"]["f1"], 100 * r["document"]["f1"]
        per_type = ", ".join(f"{name} {100 * value:.1f}" for name, value in r["document"]["per_type_f1"].items())
        lines.append(
            f"| {r['system']} | {r['span_features'] or '–'} | {r['train_on']} | {r['train_rows']} | {r['epochs']} | "
            f"{r['seed']} | {sentence:.2f} | {document:.2f} | {document - sentence:+.2f} | "
            f"{r['document']['crossing_predictions']} | {per_type} | {r['train_seconds']} |"
        )
    lines += runs_footer(results, "", "Commands, one per row:")
    write_section("documents", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run")
    one.add_argument("--system", choices=sorted(SYSTEMS), required=True)
    one.add_argument("--train_on", choices=TRAIN_ON, default="both")
    one.add_argument("--span_features", choices=("boundaries", "interior"), default="interior")
    one.add_argument("--epochs", type=float, default=1)
    one.add_argument("--batch_size", type=int, default=8)
    one.add_argument("--learning_rate", type=float, default=1e-4)
    one.add_argument("--seed", type=int, default=42)
    one.add_argument("--data", default=str(DATA), help="folder holding conll2003/ (default ../shared/data)")
    one.add_argument("--encoder", default=None, help="encoder folder (default: the packaged all-MiniLM-L6-v2)")
    one.add_argument("--train_documents", type=int, default=None, help="smoke runs: the first N training documents")
    one.add_argument("--dev_documents", type=int, default=None, help="smoke runs: the first N dev documents")
    one.add_argument("--save_model", action="store_true", help="keep the Multi-NER model under results/documents/work")
    commands.add_parser("report")
    args = parser.parse_args()
    if args.command == "run":
        args.encoder = args.encoder or default_encoder_path()
        run(args)
    else:
        report()


if __name__ == "__main__":
    main()
