"""Seq2seq pointer NER benchmark: named runs of examples/train_seq2seq.py on the shared data, one at a time, each
recording its dev scores (all entities and discontinuous ones), training time and generation speed (greedy and beam
search); `report` writes the table into BENCHMARKS.md.

    python benchmarks/seq2seq.py run cadec        # or: run all
    python benchmarks/seq2seq.py report --notes notes.md

Models go to a work folder (default /tmp/seq2seq_runs); results to benchmarks/results/seq2seq/<run>.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, named_runs_main, runs_footer, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "seq2seq"
CADEC = ["--train_file", str(DATA / "cadec" / "train.txt"), "--validation_file", str(DATA / "cadec" / "dev.txt")]
RUNS = {
    "cadec": CADEC + ["--num_train_epochs", "8"],
    "cadec-fragment_bounds": CADEC + ["--num_train_epochs", "8", "--target_mode", "fragment_bounds"],
    # the budget of the side-by-side Multi-NER rows (benchmarks/side_by_side.py): same data, epochs, batch size
    "conll2003-1epoch": [
        "--data_format",
        "conll",
        "--train_file",
        str(DATA / "conll2003" / "eng.train"),
        "--validation_file",
        str(DATA / "conll2003" / "eng.testa"),
        "--num_train_epochs",
        "1",
        "--per_device_train_batch_size",
        "8",
    ],
    "genia-4000-1epoch": [
        "--data_format",
        "jsonlines",
        "--train_file",
        str(DATA / "genia" / "train.jsonlines"),
        "--validation_file",
        str(DATA / "genia" / "dev.jsonlines"),
        "--max_train_samples",
        "4000",
        "--num_train_epochs",
        "1",
        "--per_device_train_batch_size",
        "8",
    ],
}


def report(notes: str = "") -> None:
    """Print the table and write it, with the commands and machines, into BENCHMARKS.md (section seq2seq)."""
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    lines = [
        "## Seq2seq pointer NER (issue: generative NER for flat, nested and discontinuous entities; seeds/001's "
        "baseline)",
        "",
        "Development splits, one seed (42) per row: a few tenths are within what a seed moves. An entity is correct",
        "when its type and every fragment match; *discontinuous* scores only entities of two or more fragments (gold",
        'and predicted). Micro P/R/F1, scored on raw text through `pipeline("seq2seq-ner")` (words joined by spaces).',
        "",
        "| run | beams | F1 | P | R | discontinuous F1 (P / R) | train min | train sentences/s | "
        "generation sentences/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for name, evaluation in r["evaluations"].items():
            every, split = evaluation["scores"]["all"], evaluation["scores"]["discontinuous"]
            discontinuous = (
                f"{100 * split['f1']:.2f} ({100 * split['precision']:.2f} / {100 * split['recall']:.2f})"
                if split["gold"]
                else f"none in gold ({split['predicted']} predicted)"
            )
            lines.append(
                f"| {r['run']} | {name.split('_')[1]} | {100 * every['f1']:.2f} | {100 * every['precision']:.2f} | "
                f"{100 * every['recall']:.2f} | {discontinuous} | {r['train_seconds'] / 60:.1f} | "
                f"{r['train_sentences_per_second']} | {evaluation['sentences_per_second']} |"
            )
    lines += runs_footer(results, notes, "Commands, one per row group:")
    print("\n".join(lines))
    write_section("seq2seq", "\n".join(lines))


def main() -> None:
    named_runs_main(__doc__, "train_seq2seq.py", RUNS, RESULTS, Path("/tmp/seq2seq_runs"), report)


if __name__ == "__main__":
    main()
