"""Where a trained Multi-NER model loses F1 on CoNLL-2003 dev: a decoding-threshold sweep and an error breakdown.

    python benchmarks/error_analysis.py --model benchmarks/results/side_by_side/work/conll2003-multi-ner-packed

The model runs once over the development split (`eng.testa`, flat decoding as in side_by_side.py); its outputs
are then decoded at several thresholds. **Thresholds picked on dev are dev-tuned**: they say how much a better
calibrated decision could give, not a held-out score. At the default threshold 0.5 every gold and predicted entity
is put in one class:

- correct: same span, same type;
- type error: the exact span predicted with another type;
- boundary error: an overlapping span of the same type (the entity found, its edges wrong);
- boundary + type: an overlapping span of another type only;
- missed: nothing predicted overlaps the gold entity; spurious: a prediction that overlaps no gold entity.

Writes benchmarks/results/error_analysis/<model>.json and the section of BENCHMARKS.md for all analysed models.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import torch
from transformers import AutoModel, AutoProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, write_result, write_section  # noqa: E402

import multiner  # noqa: E402, F401  (registers the Auto classes)
from multiner.evaluation import span_scores  # noqa: E402
from multiner.readers import read_conll  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "error_analysis"
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def predict(model, processor, dev: list[dict]) -> dict[float, list[list[tuple]]]:
    """Flat predictions (label, first word, end word) per sentence at every threshold, one model pass."""
    predicted = {threshold: [None] * len(dev) for threshold in THRESHOLDS}
    order = sorted(range(len(dev)), key=lambda index: len(dev[index]["tokens"]))
    with torch.no_grad():
        for begin in range(0, len(order), 32):
            chunk = order[begin : begin + 32]
            batch = processor(tokens=[dev[index]["tokens"] for index in chunk])
            outputs = model(**batch)  # every span scored, so any threshold decodes from it
            for threshold in THRESHOLDS:
                found = processor.decode(outputs, batch, threshold=threshold, flat=True)
                for index, entities in zip(chunk, found):
                    predicted[threshold][index] = [(e["entity_group"], e["start"], e["end"]) for e in entities]
    return predicted


def classify(gold: list[list[tuple]], predicted: list[list[tuple]]) -> dict[str, Counter]:
    """Error classes overall and per gold type (predictions without any overlapping gold count as spurious)."""
    classes: dict[str, Counter] = {"all": Counter()}
    for gold_spans, predicted_spans in zip(gold, predicted):
        exact = {(start, end): label for label, start, end in predicted_spans}
        for label, start, end in gold_spans:
            overlapping = [(p, s, e) for p, s, e in predicted_spans if s < end and start < e]
            if exact.get((start, end)) == label:
                kind = "correct"
            elif (start, end) in exact:
                kind = "type error"
            elif any(p == label for p, _, _ in overlapping):
                kind = "boundary error"
            elif overlapping:
                kind = "boundary + type"
            else:
                kind = "missed"
            classes["all"][kind] += 1
            classes.setdefault(label, Counter())[kind] += 1
        for label, start, end in predicted_spans:
            if not any(s < end and start < e for _, s, e in gold_spans):
                classes["all"]["spurious"] += 1
                classes.setdefault(label, Counter())["spurious"] += 1
    return classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--sentences", type=int, default=None, help="only for smoke runs: the first N dev sentences")
    args = parser.parse_args()
    model, processor = AutoModel.from_pretrained(args.model).eval(), AutoProcessor.from_pretrained(args.model)
    processor.check_model_config(model.config)
    dev = read_conll(DATA / "conll2003" / "eng.testa")[: args.sentences]
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in dev]
    predicted = predict(model, processor, dev)
    sweep = {}
    for threshold, spans in predicted.items():
        scores = span_scores(gold, spans, processor.entity_types)
        sweep[str(threshold)] = {
            "f1": scores["f1"],
            "precision": scores["precision"],
            "recall": scores["recall"],
            "per_type_f1": {name: value["f1"] for name, value in scores["per_type"].items()},
        }
    result = {
        "model": args.model.name,
        "dev_sentences": len(dev),
        "query_mode": model.config.query_mode,
        "type_attention": model.config.type_attention,
        "threshold_sweep": sweep,
        "errors_at_0.5": {name: dict(counts) for name, counts in classify(gold, predicted[0.5]).items()},
        **provenance(),
    }
    write_result(RESULTS / f"{args.model.name}.json", result, echo=True)
    report()


def report() -> None:
    lines = [
        "## Error analysis on CoNLL-2003 dev (issue: training examples and benchmark)",
        "",
        "Each model's development-split outputs decoded at several thresholds (flat). Thresholds other than 0.5 are",
        "**tuned on dev** and only show what calibration could give. Error classes at threshold 0.5 count gold",
        "entities (correct, type error, boundary error, boundary + type, missed) and predictions overlapping no gold",
        "entity (spurious); see `benchmarks/error_analysis.py`.",
    ]
    kinds = ("correct", "type error", "boundary error", "boundary + type", "missed", "spurious")
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        lines += [
            "",
            f"### `{r['model']}` (query mode {r['query_mode']}, type attention {r['type_attention']}, "
            f"{r['dev_sentences']} dev sentences)",
            "",
            "| threshold | dev F1 | P | R | " + " | ".join(r["threshold_sweep"]["0.5"]["per_type_f1"]) + " |",
            "|---" * (4 + len(r["threshold_sweep"]["0.5"]["per_type_f1"])) + "|",
        ]
        for threshold, s in r["threshold_sweep"].items():
            per_type = " | ".join(f"{100 * value:.1f}" for value in s["per_type_f1"].values())
            lines.append(
                f"| {threshold} | {100 * s['f1']:.2f} | {100 * s['precision']:.1f} | {100 * s['recall']:.1f} | "
                f"{per_type} |"
            )
        lines += ["", "| gold type | " + " | ".join(kinds) + " |", "|---" * (1 + len(kinds)) + "|"]
        for name, counts in r["errors_at_0.5"].items():
            lines.append(f"| {name} | " + " | ".join(str(counts.get(kind, 0)) for kind in kinds) + " |")
        lines += ["", f"Command: `{r['command']}` ({r['date']}; {r['machine']})"]
    write_section("error_analysis", "\n".join(lines))


if __name__ == "__main__":
    main()
