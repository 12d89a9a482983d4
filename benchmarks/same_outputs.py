"""Behaviour unchanged across a refactor: one trained model per family, predictions of two versions of the package.

    cd /tmp && PYTHONPATH=OLD python REPO/benchmarks/same_outputs.py train --folder /tmp/same
    cd /tmp && PYTHONPATH=OLD python REPO/benchmarks/same_outputs.py predict --folder /tmp/same --out a.json
    cd /tmp && PYTHONPATH=REPO python REPO/benchmarks/same_outputs.py predict --folder /tmp/same --out b.json
    python benchmarks/same_outputs.py compare a.json b.json     # writes the BENCHMARKS.md section

`train` fits the three families on the packaged sample sets (read from this repository's multiner/data by path, so an
older package works too) with the stock Trainer and saves each through its pipeline; `predict` loads each folder with
`pipeline(task, model=folder)` of whichever multiner is imported and predicts the sample development sets (one text
per example) and one long text (the Multi-NER development sentences joined, ~3,000 characters, several windows);
`compare` says whether the entities (and relations) are identical and how far the scores moved.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "multiner" / "data"
FAMILIES = {  # name: (pipeline task, sample file prefix)
    "multiner": ("multi-ner", "sample"),
    "joint": ("joint-er", "sample_relations"),
    "seq2seq": ("seq2seq-ner", "sample_discontinuous"),
}


def examples(prefix: str, split: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / f"{prefix}_{split}.jsonl").read_text().splitlines()]


def train(folder: Path) -> None:
    import datasets
    from transformers import Trainer, TrainingArguments, pipeline, set_seed

    import multiner

    try:  # where the two-rate optimizer lives depends on the version
        from multiner.training_core import head_optimizer
    except ImportError:
        from multiner.training_multiner import head_optimizer
    builders = {
        "multiner": (lambda: multiner.MultiNerModel.from_encoder(entity_types=["PER", "LOC", "ORG", "MISC"],
                                                                 query_mode="packed"),
                     multiner.MultiNerProcessor, multiner.MultiNerDataCollator, 3, 3e-4),
        "joint": (lambda: multiner.JointErModel.from_encoder(entity_types=["LOC", "ORG", "PER"],
                                                             relation_types=["Based_In", "Live_In", "Work_For"]),
                  multiner.JointErProcessor, multiner.JointErDataCollator, 10, 5e-5),
        "seq2seq": (lambda: multiner.Seq2SeqNerModel.from_encoder(entity_types=["ADR", "Drug"]),
                    multiner.Seq2SeqNerProcessor, multiner.Seq2SeqNerDataCollator, 5, 1e-4),
    }  # fmt: skip
    for name, (task, prefix) in FAMILIES.items():
        set_seed(0)
        build, processor_class, collator_class, epochs, rate = builders[name]
        model = build()
        processor = processor_class.from_model(model)
        rows = datasets.Dataset.from_list(examples(prefix, "train"))
        rows = rows.map(processor.preprocess, batched=True, remove_columns=rows.column_names)
        args = TrainingArguments(str(folder / "run"), num_train_epochs=epochs, learning_rate=rate, report_to=[],
                                 save_strategy="no", disable_tqdm=True, logging_strategy="no")  # fmt: skip
        optimizer = head_optimizer(model, rate, 1e-3)
        Trainer(model=model, args=args, train_dataset=rows, data_collator=collator_class.from_processor(processor),
                optimizers=(optimizer, None)).train()  # fmt: skip
        pipeline(task, model=model.eval(), processor=processor).save_pretrained(str(folder / name))


def predict(folder: Path, out: Path) -> None:
    from transformers import pipeline

    import multiner

    found = {"multiner_version_file": multiner.__file__}
    for name, (task, prefix) in FAMILIES.items():
        run = pipeline(task, model=str(folder / name))
        texts = [example["text"] for example in examples(prefix, "dev")]
        found[name] = run(texts)
        found[name + "_long"] = [run(" ".join(texts))]
    out.write_text(json.dumps(found, indent=1))


def compare(first: Path, second: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import command, machine, today, write_section

    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    lines = [
        "## Same outputs before and after a refactor (issue: one core under three families)",
        "",
        "One model per family trained on its packaged sample set, saved, then loaded and run by each version of the "
        "package (`benchmarks/same_outputs.py`): the sample development sets (60 texts each) and one long text.",
        "",
        "| family | inputs | entities (A / B) | identical entities and relations | largest score difference |",
        "|---|---|---|---|---|",
    ]
    for key in [k for k in a if k != "multiner_version_file"]:
        same, largest, counts = len(a[key]) == len(b[key]), 0.0, [0, 0]
        for one, two in zip(a[key], b[key]):
            (entities_a, relations_a), (entities_b, relations_b) = parts(one), parts(two)
            counts[0], counts[1] = counts[0] + len(entities_a), counts[1] + len(entities_b)
            same &= len(entities_a) == len(entities_b) and len(relations_a) == len(relations_b)
            for x, y in [*zip(entities_a, entities_b), *zip(relations_a, relations_b)]:
                same &= without_score(x) == without_score(y)
                largest = max(largest, abs(x["score"] - y["score"]))
        family, inputs = key.removesuffix("_long"), "one long text" if key.endswith("_long") else "60 dev texts"
        lines.append(f"| {family} | {inputs} | {counts[0]} / {counts[1]} | {same} | {largest:.2e} |")
    lines += ["", f"A: `{a['multiner_version_file']}`; B: `{b['multiner_version_file']}`."]
    lines += ["", f"Command: `{command()}` ({today()}; {machine()})"]
    write_section("same_outputs", "\n".join(lines))
    print("\n".join(lines))


def parts(result) -> tuple[list, list]:
    """(entities, relations) of one text's result: the joint family's dict, or a list of entities."""
    return (result["entities"], result["relations"]) if isinstance(result, dict) else (result, [])


def without_score(item: dict) -> dict:
    return {key: value for key, value in item.items() if key != "score"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("train", "predict"):
        one = commands.add_parser(name)
        one.add_argument("--folder", type=Path, required=True)
        if name == "predict":
            one.add_argument("--out", type=Path, required=True)
    two = commands.add_parser("compare")
    two.add_argument("first", type=Path)
    two.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.command == "train":
        train(args.folder)
    elif args.command == "predict":
        predict(args.folder, args.out)
    else:
        compare(args.first, args.second)


if __name__ == "__main__":
    main()
