"""Score saved joint entity-relation models two ways on a word-format (SpERT json) validation file: on its words
joined into text by single spaces (what examples/train_joint_er.py has always reported, and how a user's text is
read), and on the dataset's own words (`is_split_into_words=True`, the papers' protocol). Also the relation scores
with the gold entities given (oracle) both ways, and the text protocol's entity errors that are only a trailing
punctuation mark the dataset glues to a word ("Boise." predicted "Boise").

    python benchmarks/joint_protocols.py --models <dir>/s42 <dir>/s43 \
        --validation_file ../shared/data/conll04/dev_triples.json --name conll04-default-061
    # ADE: the test fold of the 10-fold protocol, as examples/train_joint_er.py --ade_fold N [--remove_overlaps]
    python benchmarks/joint_protocols.py --models <dir>/ade0 --ade_folder ../shared/data/ade --ade_fold 0 \
        --remove_overlaps --name ade0

Writes benchmarks/results/joint_er/protocols-<name>.json and prints one table row per model and protocol.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from transformers import pipeline

from multiner.ner_metric import as_metric_example, load_ner_metric
from multiner.readers import ade_fold, read_spert_json, remove_overlapping_entities, words_to_text
from multiner.training_joint_er import oracle_relation_scores

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "joint_er"


def split_off_punctuation(texts: list[dict], predicted: list[dict]) -> int:
    """Gold entities missed only because the prediction ends before the gold's last character, a punctuation mark."""
    count = 0
    for example, found in zip(texts, predicted):
        spans = {(e["start"], e["end"], e["entity_group"]) for e in found["entities"]}
        for entity in example["entities"]:
            start, end, label = entity["start"], entity["end"], entity["label"]
            last = example["text"][end - 1]
            if (start, end, label) not in spans and (start, end - 1, label) in spans and not last.isalnum():
                count += 1
    return count


def score_model(folder: str, examples: list[dict], batch_size: int) -> dict:
    extract = pipeline("joint-er", model=folder)
    model, processor = extract.model, extract.processor  # loaded once, for the oracle too
    metric = load_ner_metric("relations")
    kinds = {"entity_types": model.config.entity_types, "relation_types": model.config.relation_types}
    texts = [words_to_text(example) for example in examples]
    by_text = extract([example["text"] for example in texts], batch_size=batch_size)
    by_words = extract([example["tokens"] for example in examples], batch_size=batch_size, is_split_into_words=True)
    result = {}
    for protocol, gold, predicted in (("text", texts, by_text), ("words", examples, by_words)):
        scores = metric.compute(
            predictions=[as_metric_example(found) for found in predicted],
            references=[as_metric_example(example) for example in gold],
            **kinds,
        )
        oracle = oracle_relation_scores(model, processor, gold, batch_size)
        result[protocol] = {"scores": scores, "oracle_f1": oracle["micro"]["f1"]}
    result["text"]["punctuation_split_off"] = split_off_punctuation(texts, by_text)
    return result


def row(folder: str, protocol: str, measured: dict) -> str:
    entities, relations = measured["scores"]["entities"], measured["scores"]["relations"]["strict"]
    cells = [entities["micro"]["f1"], entities["macro"]["f1"], relations["micro"]["f1"], relations["macro"]["f1"]]
    cells.append(measured["oracle_f1"])
    per_type = [entities["per_type"][t]["f1"] for t in sorted(entities["per_type"])]
    per_type += [relations["per_type"][t]["f1"] for t in sorted(relations["per_type"])]
    return f"| {Path(folder).name} | {protocol} | " + " | ".join(
        [f"{100 * value:.2f}" for value in cells] + [f"{100 * value:.1f}" for value in per_type]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--validation_file", help="SpERT json (or --ade_folder and --ade_fold)")
    parser.add_argument("--ade_folder")
    parser.add_argument("--ade_fold", type=int, default=0)
    parser.add_argument("--remove_overlaps", action="store_true", help="as the training script's flag")
    parser.add_argument("--name", required=True)
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args(argv)
    if (args.validation_file is None) == (args.ade_folder is None):
        parser.error("give --validation_file or --ade_folder")
    examples = (
        read_spert_json(args.validation_file) if args.validation_file else ade_fold(args.ade_folder, args.ade_fold)[1]
    )
    if args.remove_overlaps:
        examples = remove_overlapping_entities(examples)[0]
    measured = {folder: score_model(folder, examples, args.batch_size) for folder in args.models}
    command = "python benchmarks/joint_protocols.py " + " ".join(sys.argv[1:] if argv is None else argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"protocols-{args.name}.json"
    path.write_text(json.dumps({"command": command, "models": measured}, indent=1) + "\n")
    print("| model | protocol | entity F1 | entity macro | relation F1 | relation macro | oracle | per type |")
    for folder, result in measured.items():
        for protocol in ("text", "words"):
            print(row(folder, protocol, result[protocol]))
        print(f"  text protocol: {result['text']['punctuation_split_off']} gold entities missed by a split-off mark")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
