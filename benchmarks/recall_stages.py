"""Where a trained Multi-NER model loses recall, per type: start head, end head, span head, the three-way decision.

    python benchmarks/recall_stages.py --model benchmarks/results/side_by_side/work/wnut16-multi-ner-packed \
        --dataset wnut16

The model runs once over the development split with every span scored. For each gold entity (representable: word
boundaries, at most `max_span_length` tokens) it reads the start probability at its first token, the end
probability at its last token and the span-match probability of the span, and counts per type how many clear the
model's decision threshold (calibrated, else 0.5) at each stage:

- start, end, span: that head alone; start & end: both boundaries (what makes the span a candidate);
- all three: the model's decision (each probability above the threshold);
- decoded: found by the processor's flat decoding (all three, then non-overlap), the recall the F1 uses.

Two alternative decision rules are scored beside it on the same outputs: `mean`, where the geometric mean of the
three probabilities (the entity's score) must clear the threshold, instead of each one; and a grid of two thresholds,
one for the start and end heads (`boundary`) and one for the span head (`span`). **Their figures are measured on dev,
like everything here: a diagnosis of how much a decision rule could give, not a held-out result.**
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, provenance, write_result, write_section  # noqa: E402
from side_by_side import load  # noqa: E402

import multiner  # noqa: E402, F401  (registers the Auto classes)
from multiner.decoding import keep_non_overlapping, probabilities  # noqa: E402
from multiner.evaluation import span_scores  # noqa: E402
from multiner.text_core import entity_token_spans  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "recall_stages"
STAGES = ("start", "end", "span", "start & end", "all three", "decoded")


def word_of(context) -> list[int]:
    """The word index of every token of a word-list context."""
    return [offset[0] for offset in context.offsets]


def analyse(model, processor, dev: list[dict]) -> dict:
    threshold = model.config.threshold
    types = processor.entity_types
    stages = {name: Counter() for name in STAGES}
    gold_count: Counter = Counter()
    decoded, mean_rule, windows = [], [], []
    with torch.no_grad():
        for begin in range(0, len(dev), 32):
            chunk = dev[begin : begin + 32]
            texts = processor.tokenize(tokens=[example["tokens"] for example in chunk])
            batch = next(processor.batches(texts))
            outputs = model(**batch)
            for entities in processor.decode(outputs, batch, threshold=threshold, flat=True):
                decoded.append([(e["entity_group"], e["start"], e["end"]) for e in entities])
            start, end = probabilities(outputs.start_logits), probabilities(outputs.end_logits)
            span = probabilities(outputs.span_logits)
            windows_of: dict[int, list[int]] = {}
            for row, window in enumerate(batch.windows):
                windows_of.setdefault(window.example, []).append(row)
            for number, (example, context) in enumerate(zip(chunk, texts.contexts)):
                words = word_of(context)
                gold = entity_token_spans(
                    context, example["entities"], number, types, processor.max_span_length, Counter()
                )
                for type_pos, first, last in gold:
                    label = types[type_pos]
                    gold_count[label] += 1
                    row = next(r for r in windows_of[number] if batch.windows[r].holds(first, last))
                    offset = batch.windows[row].start
                    p = (
                        start[row, first - offset, type_pos],
                        end[row, last - offset, type_pos],
                        span[row, first - offset, last - first, type_pos],
                    )
                    passed = [value > threshold for value in p]
                    for name, ok in zip(("start", "end", "span"), passed):
                        stages[name][label] += ok
                    stages["start & end"][label] += passed[0] and passed[1]
                    stages["all three"][label] += all(passed)
                # the mean rule: every span whose geometric mean clears the threshold, then flat
                rows = windows_of[number]
                windows.append([(start[r], end[r], span[r], batch.windows[r], words) for r in rows])
                found = []
                for row in rows:
                    offset, window = batch.windows[row].start, batch.windows[row]
                    score = np.cbrt(
                        start[row][:, None, :]
                        * np.stack([np.roll(end[row], -k, axis=0) for k in range(span.shape[2])], axis=1)
                        * span[row]
                    )
                    for first, width, type_pos in zip(*np.nonzero(score > threshold)):
                        last = first + width
                        if last < window.stop - window.start:
                            found.append(
                                (
                                    types[type_pos],
                                    words[first + offset],
                                    words[last + offset] + 1,
                                    float(score[first, width, type_pos]),
                                )
                            )
                kept = keep_non_overlapping(sorted(set(found), key=lambda f: f[1:3]), lambda f: f[1:3], lambda f: f[3])
                mean_rule.append([f[:3] for f in kept])
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in dev]
    decoded_scores = span_scores(gold, decoded, types)
    for label in types:
        stages["decoded"][label] = (
            decoded_scores["per_type"][label]["recall"] * decoded_scores["per_type"][label]["support"]
        )
    return {
        "types": types,
        "threshold": threshold,
        "gold": dict(gold_count),
        "stages": {name: {label: int(round(count[label])) for label in types} for name, count in stages.items()},
        "decoded": decoded_scores,
        "mean_rule": span_scores(gold, mean_rule, types),
        "grid": two_threshold_grid(windows, gold, types, threshold),
    }


def two_threshold_grid(windows: list, gold: list, types: list[str], threshold: float) -> list[dict]:
    """Flat decoding with a boundary threshold (start and end) apart from the span threshold, on a grid."""
    rows = []
    for boundary in sorted({threshold, 0.4, 0.3, 0.2}, reverse=True):
        for span_threshold in sorted({threshold, 0.7, 0.8}):
            found = []
            for example_windows in windows:
                candidates = []
                for start, end, span, window, words in example_windows:
                    size = window.stop - window.start
                    for width in range(span.shape[1]):
                        end_at = np.zeros_like(end)
                        end_at[: max(end.shape[0] - width, 0)] = end[width:]
                        chosen = (start > boundary) & (end_at > boundary) & (span[:, width, :] > span_threshold)
                        for first, type_pos in zip(*np.nonzero(chosen)):
                            if first + width < size:
                                score = float(np.cbrt(start[first, type_pos] * end_at[first, type_pos]
                                                      * span[first, width, type_pos]))  # fmt: skip
                                offset = window.start
                                candidates.append(
                                    (types[type_pos], words[first + offset], words[first + width + offset] + 1, score)
                                )
                ordered = sorted(set(candidates), key=lambda c: c[1:3])
                found.append([c[:3] for c in keep_non_overlapping(ordered, lambda c: c[1:3], lambda c: c[3])])
            scores = span_scores(gold, found, types)
            rows.append(
                {"boundary": boundary, "span": span_threshold, **{k: scores[k] for k in ("precision", "recall", "f1")}}
            )
    return rows


def report(results: dict) -> None:
    lines = [
        "## Where Multi-NER's recall goes (issue: a new domain with a new label set)",
        "",
        "Per type, the share of gold development entities (representable ones) whose probability clears the model's "
        "decision threshold at each stage (`benchmarks/recall_stages.py`); `decoded` is the recall of the flat "
        "output. The `mean` rule (the geometric mean of the three probabilities must clear the threshold, not each) "
        "is scored on the same outputs; dev-measured, a diagnosis.",
        "",
    ]
    for name, result in results.items():
        types = result["types"]
        lines += [
            f"### `{name}` (threshold {result['threshold']:g})",
            "",
            "| type | gold | " + " | ".join(STAGES) + " | F1 | mean rule: P / R / F1 |",
            "|---|---|" + "---|" * len(STAGES) + "---|---|",
        ]
        for label in [*types, "all"]:
            gold = sum(result["gold"].values()) if label == "all" else result["gold"].get(label, 0)
            counts = [
                sum(result["stages"][s].values()) if label == "all" else result["stages"][s][label] for s in STAGES
            ]
            scores = result["decoded"] if label == "all" else result["decoded"]["per_type"][label]
            mean = result["mean_rule"] if label == "all" else result["mean_rule"]["per_type"][label]
            cells = " | ".join(f"{100 * c / max(gold, 1):.0f}" for c in counts)
            lines.append(
                f"| {label} | {gold} | {cells} | {100 * scores['f1']:.1f} | "
                f"{100 * mean['precision']:.1f} / {100 * mean['recall']:.1f} / {100 * mean['f1']:.1f} |"
            )
        if "grid" in result:
            lines += ["", "Two thresholds (boundary: start and end; span), flat decoding, dev:", ""]
            lines += ["| boundary | span | P | R | F1 |", "|---|---|---|---|---|"]
            lines += [
                f"| {row['boundary']:g} | {row['span']:g} | {100 * row['precision']:.1f} | "
                f"{100 * row['recall']:.1f} | {100 * row['f1']:.1f} |"
                for row in result["grid"]
            ]
        lines += ["", f"Command: `{result['command']}` ({result['date']}; {result['machine']})", ""]
    write_section("recall_stages", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default="wnut16")
    parser.add_argument("--dev_samples", type=int, default=None, help="only for smoke runs: the first N sentences")
    args = parser.parse_args()
    model = AutoModel.from_pretrained(args.model).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    _, dev = load(args.dataset)
    dev = dev[: args.dev_samples]
    result = analyse(model, processor, dev)
    result.update(provenance())
    write_result(RESULTS / f"{Path(args.model).name}.json", result)
    report({path.stem: json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))})


if __name__ == "__main__":
    main()
