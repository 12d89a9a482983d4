"""Where a seq2seq model's discontinuous mentions go wrong: every gold discontinuous mention of a development file,
and every discontinuous mention the model predicts there, put in one category each (below), beside the training
file's counts of discontinuous mentions (how many, how many fragments, how long their gaps).

    python benchmarks/discontinuous_errors.py --model DIR [--train_file ../shared/data/cadec/train.txt] \
        [--validation_file ../shared/data/cadec/dev.txt] [--num_beams 1]

Gold discontinuous mentions, the first category that holds (predictions of the same type, same sentence):
`exact`; `boundaries off` (a prediction with as many fragments, each overlapping the gold one of the same rank);
`gap filled` (a contiguous prediction from the first fragment's start to the last one's end); `one
fragment` (a prediction equal to one of its fragments); `other fragments` (a discontinuous prediction that shares
a fragment with it); `overlap` (a prediction overlapping any of its characters); `missed`.

Predicted discontinuous mentions that are not gold: `boundaries off` (likewise, against a gold discontinuous
mention); `contiguous gold split` (a gold contiguous mention from its
first fragment's start to its last one's end); `gold fragments merged` (each fragment is a gold mention of its
own); `wrong fragments` (it shares a fragment with a gold discontinuous mention); `overlap`; `spurious`.

Writes benchmarks/results/discontinuous_errors/<model folder name>.json (with each gold mention's category) and the
section "discontinuous_errors" of BENCHMARKS.md, which also counts, for each pair of greedy runs, the gold mentions
both wrote exactly: how far two runs' exact mentions are the same ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "discontinuous_errors"
GOLD_CATEGORIES = ("exact", "boundaries off", "gap filled", "one fragment", "other fragments", "overlap", "missed")
PREDICTED_CATEGORIES = (
    "boundaries off",
    "contiguous gold split",
    "gold fragments merged",
    "wrong fragments",
    "overlap",
    "spurious",
)


def fragments_of(entity: dict) -> tuple[tuple[int, int], ...]:
    """An entity's fragments as sorted (start, end) pairs; a contiguous entity is one fragment."""
    return tuple(sorted((f["start"], f["end"]) for f in entity.get("fragments") or [entity]))


def overlaps(a: tuple, b: tuple) -> bool:
    return any(x0 < y1 and y0 < x1 for x0, x1 in a for y0, y1 in b)


def same_shape(a: tuple, b: tuple) -> bool:
    """As many fragments, each overlapping the other's fragment of the same rank: the boundaries alone differ."""
    return len(a) == len(b) and all(overlaps((x,), (y,)) for x, y in zip(a, b))


def gold_category(gold: tuple, predicted: list[tuple]) -> str:
    """The first of GOLD_CATEGORIES that holds for a gold discontinuous mention's fragments."""
    extent = ((gold[0][0], gold[-1][1]),)
    if gold in predicted:
        return "exact"
    if any(same_shape(p, gold) for p in predicted):
        return "boundaries off"
    if extent in predicted:
        return "gap filled"
    if any(len(p) == 1 and p[0] in gold for p in predicted):
        return "one fragment"
    if any(len(p) > 1 and set(p) & set(gold) for p in predicted):
        return "other fragments"
    if any(overlaps(p, gold) for p in predicted):
        return "overlap"
    return "missed"


def predicted_category(found: tuple, gold: list[tuple]) -> str | None:
    """The first of PREDICTED_CATEGORIES that holds for a predicted discontinuous mention; None when it is gold."""
    if found in gold:
        return None
    if any(same_shape(found, g) for g in gold):
        return "boundaries off"
    if ((found[0][0], found[-1][1]),) in gold:
        return "contiguous gold split"
    if all((fragment,) in gold for fragment in found):
        return "gold fragments merged"
    if any(len(g) > 1 and set(g) & set(found) for g in gold):
        return "wrong fragments"
    if any(overlaps(found, g) for g in gold):
        return "overlap"
    return "spurious"


def mention_shapes(examples: list[dict]) -> dict:
    """How many mentions, how many of them discontinuous, their fragment counts and gaps (in words)."""
    mentions = [entity for example in examples for entity in example["entities"]]
    split = [entity for entity in mentions if len(entity.get("fragments") or [entity]) > 1]
    gaps = [
        later["start"] - earlier["end"]
        for entity in split
        for earlier, later in zip(entity["fragments"], entity["fragments"][1:])
    ]
    return {
        "sentences": len(examples),
        "mentions": len(mentions),
        "discontinuous": len(split),
        "fragments": dict(sorted(Counter(len(entity["fragments"]) for entity in split).items())),
        "gap_words_median": statistics.median(gaps) if gaps else None,
        "gap_words_max": max(gaps) if gaps else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="A trained seq2seq NER folder.")
    parser.add_argument("--train_file", default=str(DATA / "cadec" / "train.txt"))
    parser.add_argument("--validation_file", default=str(DATA / "cadec" / "dev.txt"))
    parser.add_argument("--num_beams", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--show", type=int, default=0, help="Print this many missed gold mentions and the guesses.")
    args = parser.parse_args()

    from transformers import pipeline

    import multiner  # noqa: F401  (registers the "seq2seq-ner" task)
    from multiner.readers import read_discontinuous, words_to_text

    train = read_discontinuous(args.train_file)
    validation = read_discontinuous(args.validation_file)
    examples = [words_to_text(example) for example in validation]
    extract = pipeline("seq2seq-ner", model=args.model, batch_size=args.batch_size)
    found = extract([example["text"] for example in examples], num_beams=args.num_beams)
    predicted_counts = Counter()
    gold_mentions = []
    for sentence, (example, predicted) in enumerate(zip(examples, found)):
        labels = {entity["label"] for entity in example["entities"]} | {e["entity_group"] for e in predicted}
        for label in sorted(labels):
            gold = [fragments_of(e) for e in example["entities"] if e["label"] == label]
            mine = [fragments_of(e) for e in predicted if e["entity_group"] == label]
            for g in (g for g in gold if len(g) > 1):
                category = gold_category(g, mine)
                gold_mentions.append({"sentence": sentence, "label": label, "fragments": g, "category": category})
                if category != "exact" and args.show > 0:
                    args.show -= 1
                    words = [example["text"][a:b] for a, b in g]
                    guesses = [[example["text"][a:b] for a, b in p] for p in mine if overlaps(p, g)]
                    print(f"{category}: gold {words} predicted {guesses}")
            predicted_counts.update(predicted_category(p, gold) for p in mine if len(p) > 1)
    gold_counts = Counter(mention["category"] for mention in gold_mentions)
    right = predicted_counts.pop(None, 0)
    predicted_total = right + sum(predicted_counts.values())
    result = {
        "model": Path(args.model).name,
        "validation_file": Path(args.validation_file).name,
        "num_beams": args.num_beams,
        "gold_discontinuous": {name: gold_counts[name] for name in GOLD_CATEGORIES},
        "predicted_discontinuous": predicted_total,
        "predicted_discontinuous_right": right,
        "predicted_discontinuous_wrong": {name: predicted_counts[name] for name in PREDICTED_CATEGORIES},
        "gold_mentions": gold_mentions,
        "train": mention_shapes(train),
        "validation": mention_shapes(validation),
        **provenance(),
    }
    write_result(RESULTS / f"{result['model']}.json", result, echo=True)
    report()


def report() -> None:
    import json

    rows = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    lines = [
        "## Where discontinuous mentions go wrong (issue: the multi-task transformer at its own regime)",
        "",
        "Each gold discontinuous mention of the development file in one category (the first that holds), and each",
        "predicted discontinuous mention that is not gold (`benchmarks/discontinuous_errors.py`, whose docstring",
        "defines the categories).",
        "",
        f"| model | beams | {' | '.join(GOLD_CATEGORIES)} | predicted | right | "
        f"{' | '.join(PREDICTED_CATEGORIES)} | date |",
        "|" + "---|" * (len(GOLD_CATEGORIES) + len(PREDICTED_CATEGORIES) + 5),
    ]
    for row in rows:
        gold = " | ".join(str(row["gold_discontinuous"][name]) for name in GOLD_CATEGORIES)
        wrong = " | ".join(str(row["predicted_discontinuous_wrong"][name]) for name in PREDICTED_CATEGORIES)
        lines.append(
            f"| {row['model']} | {row['num_beams']} | {gold} | {row['predicted_discontinuous']} | "
            f"{row['predicted_discontinuous_right']} | {wrong} | {row['date']} |"
        )
    if rows:
        shapes = rows[-1]["train"]
        lines += [
            "",
            f"Training file: {shapes['sentences']} sentences, {shapes['mentions']} mentions, "
            f"{shapes['discontinuous']} discontinuous (fragments: {shapes['fragments']}; gap median "
            f"{shapes['gap_words_median']} words, longest {shapes['gap_words_max']}).",
            "",
            f"Commands: `{rows[-1]['command']}` (one per model). Machine: {rows[-1]['machine']}.",
        ]
    lines += agreement(rows)
    write_section("discontinuous_errors", "\n".join(lines))


def exact_mentions(row: dict) -> set[tuple]:
    """The gold discontinuous mentions a record's model wrote exactly, as (sentence, label, fragments) keys."""
    return {
        (m["sentence"], m["label"], tuple(map(tuple, m["fragments"])))
        for m in row["gold_mentions"]
        if m["category"] == "exact"
    }


def agreement(rows: list[dict]) -> list[str]:
    """Lines of a table: for each pair of greedy runs that kept their per-mention outcomes, how many gold
    discontinuous mentions both wrote exactly (the diagonal: each run's own count), so that a difference between two
    runs' counts can be read against how much two runs of one configuration differ."""
    kept = [row for row in rows if "gold_mentions" in row and row["num_beams"] == 1]
    if len(kept) < 2:
        return []
    found = [exact_mentions(row) for row in kept]
    lines = [
        "",
        "Gold discontinuous mentions written exactly by both of two runs (greedy; runs that kept their per-mention",
        "outcomes; the diagonal is each run's own count):",
        "",
        "| run | " + " | ".join(row["model"] for row in kept) + " |",
        "|" + "---|" * (len(kept) + 1),
    ]
    for row, mine in zip(kept, found):
        lines.append(f"| {row['model']} | " + " | ".join(str(len(mine & other)) for other in found) + " |")
    return lines


if __name__ == "__main__":
    main()
