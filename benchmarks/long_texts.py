"""Time and peak memory of `pipeline("multi-ner")` on one text of 1k, 10k, 100k and 1M characters.

Each length runs in its own process (so its peak memory is its own): the pipeline is loaded and warmed up on a short
text, then one call on the long text is timed, and the growth of the process's peak resident memory over the
warmed-up process is recorded. The text is CoNLL-2003 development documents (sentences joined by newlines, documents
by blank lines), repeated as needed and cut at a word boundary. The model is the small packed CoNLL-2003 model of
`common.small_conll_model` unless --model is given.

    python benchmarks/long_texts.py [--lengths 1000 10000 100000 1000000] [--batch_size 8] [--model DIR]
    python benchmarks/long_texts.py --all_windows_at_once --lengths 1000 10000 100000   # the old behaviour

`--all_windows_at_once` passes a batch size larger than the number of windows, so that every window of the text
goes through the model in one forward pass, as the pipeline did before it bounded them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, small_conll_model, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "long_texts.json"


def long_text(length: int) -> str:
    from multiner.readers import read_conll

    documents = read_conll(DATA / "conll2003" / "eng.testa", documents=True)
    corpus = "\n\n".join("\n".join(" ".join(s["tokens"]) for s in document) for document in documents)
    text = (corpus + "\n\n") * (length // len(corpus) + 1)
    return text[: text.rindex(" ", 0, length)]


def measure(model: str, length: int, batch_size: int | None) -> dict:
    """One length, in this process."""
    import torch
    from transformers import pipeline

    import multiner  # noqa: F401  (registers the "multi-ner" task)

    torch.manual_seed(0)
    ner = pipeline("multi-ner", model=model)
    ner("Hannah Keller flew from Oslo to Lima.\nThe Bank of Kenya fined Quillon Software.")
    text = long_text(length)
    windows = len(ner.processor.tokenize(text=[text]).windows)
    size = batch_size or windows + 1
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    found = ner(text, batch_size=size)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "characters": len(text),
        "windows": windows,
        "windows_per_pass": min(size, windows),
        "entities": len(found),
        "seconds": round(seconds, 2),
        "characters_per_second": round(len(text) / seconds),
        "peak_growth_mb": round((peak - base) / 1024, 1),
        "peak_mb": round(peak / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--all_windows_at_once", action="store_true")
    parser.add_argument("--model", default=None)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # internal: measure one length
    args = parser.parse_args()
    model = args.model or str(small_conll_model("packed"))
    batch_size = None if args.all_windows_at_once else args.batch_size
    if args.one is not None:
        print(json.dumps(measure(model, args.one, batch_size)))
        return

    rows = []
    for length in args.lengths:
        options = ["--all_windows_at_once"] if args.all_windows_at_once else ["--batch_size", str(args.batch_size)]
        output = subprocess.run(
            [sys.executable, __file__, "--model", model, "--one", str(length), *options],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    mode = "all windows at once" if args.all_windows_at_once else f"batch_size={args.batch_size}"
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[mode] = {"rows": rows, **provenance()}
    write_result(RESULTS, results)
    report(results)


def report(results: dict) -> None:
    lines = [
        "## Long texts: time and memory (issue: Multi-NER on real documents)",
        "",
        'One text per call, `pipeline("multi-ner")` with the small packed CoNLL-2003 model (2 epochs on 400 '
        "sentences), CoNLL-2003 development documents repeated to length. Peak growth: the process's peak resident "
        "memory during the call, over the same process after loading and a warm-up call.",
        "",
        "| mode | characters | windows | windows per pass | entities | seconds | characters/s | peak growth MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, run in results.items():
        for row in run["rows"]:
            lines.append(
                f"| {mode} | {row['characters']:,} | {row['windows']:,} | {row['windows_per_pass']:,} | "
                f"{row['entities']:,} | {row['seconds']} | {row['characters_per_second']:,} | "
                f"{row['peak_growth_mb']} |"
            )
    lines += ["", "Commands:", ""]
    lines += [f"- `{run['command']}` ({run['date']}; {run['machine']})" for run in results.values()]
    write_section("long_texts", "\n".join(lines))


if __name__ == "__main__":
    main()
