"""Multi-NER prediction cost against the model's uncertainty: the span-candidate cap (`max_span_candidates`).

    python benchmarks/span_cap.py --model benchmarks/results/side_by_side/work/wnut16-multi-ner-packed \
        --dataset wnut16 [--texts 1000]

A trained model predicts the development split through `pipeline("multi-ner")` (flat, its own threshold) three ways,
each in its own process so that its peak memory is its own: `capped`, the default (at most `max_span_candidates`
spans scored per type and window, 512); `uncapped` (every span whose start and end clear the threshold scored, as
before the cap); `dense` (every span up to `max_span_length` scored, the model called without a threshold, then
decoded by the processor). It records seconds, sentences/s, the growth of peak resident memory over the loaded
process, the entities found, how many span candidates the cap left out (from the warnings), and whether the capped
entities equal the uncapped ones. Writes benchmarks/results/span_cap/<model>.json and the BENCHMARKS.md section.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, provenance, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "span_cap"
MODES = ("capped", "uncapped", "dense")


def measure(model_dir: str, dataset: str, mode: str, count: int | None, threshold: float | None, long: int) -> dict:
    import torch
    from side_by_side import load
    from transformers import pipeline

    import multiner

    _, dev = load(dataset)
    texts = [" ".join(example["tokens"]) for example in dev[:count]]
    if long:  # one long text (CoNLL-2003 dev documents, as long_texts.py): full windows instead of short tweets
        from long_texts import long_text

        texts = [long_text(long)]
    ner = pipeline("multi-ner", model=model_dir)
    if mode == "uncapped":
        ner.model.config.max_span_candidates = 10**9
    ner(texts[:8])  # warm-up
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    left_out = 0
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", multiner.SpanCandidatesCappedWarning)
        if mode == "dense":
            processor, model, found = ner.processor, ner.model, []
            with torch.no_grad():
                for begin in range(0, len(texts), 8):
                    batch = processor(texts[begin : begin + 8])
                    found += processor.decode(model(**batch), batch, threshold=threshold, flat=True)
        else:
            options = {} if threshold is None else {"threshold": threshold}
            found = ner(texts, flat=True, batch_size=8, **options)
    seconds = time.perf_counter() - start
    for warning in caught:
        if issubclass(warning.category, multiner.SpanCandidatesCappedWarning):
            left_out += int(str(warning.message).split()[0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "mode": mode,
        "threshold": threshold if threshold is not None else ner.model.config.threshold,
        "texts": len(texts),
        "seconds": round(seconds, 2),
        "sentences_per_second": round(len(texts) / seconds, 1),
        "peak_growth_mb": round((peak - base) / 1024),
        "entities": sum(map(len, found)),
        "candidates_left_out": left_out,
        "found": [[(e["entity_group"], e["start"], e["end"]) for e in entities] for entities in found],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default="wnut16")
    parser.add_argument("--texts", type=int, default=None)
    parser.add_argument("--threshold", type=float, default=None, help="decision threshold (default: the model's)")
    parser.add_argument("--long_text", type=int, default=0, help="instead of the dev texts, one text of N characters")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)  # internal: measure one mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.model, args.dataset, args.one, args.texts, args.threshold, args.long_text)))
        return
    rows = {}
    for mode in MODES:
        extra = ["--texts", str(args.texts)] if args.texts else []
        extra += ["--threshold", str(args.threshold)] if args.threshold is not None else []
        extra += ["--long_text", str(args.long_text)] if args.long_text else []
        output = subprocess.run(
            [sys.executable, __file__, "--model", args.model, "--dataset", args.dataset, "--one", mode, *extra],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows[mode] = json.loads(output.strip().splitlines()[-1])
        print({k: v for k, v in rows[mode].items() if k != "found"}, flush=True)
    same = rows["capped"]["found"] == rows["uncapped"]["found"]
    name = Path(args.model).name + (f"-threshold{args.threshold:g}" if args.threshold is not None else "")
    name += f"-long{args.long_text}" if args.long_text else ""
    result = {
        "model": name,
        "dataset": args.dataset,
        "capped_equals_uncapped": same,
        "rows": [{k: v for k, v in row.items() if k != "found"} for row in rows.values()],
        **provenance(),
    }
    write_result(RESULTS / f"{result['model']}.json", result)
    report()


def report() -> None:
    lines = [
        "## Span candidates: prediction cost against the model's uncertainty (issue: new domain, new label set)",
        "",
        "A trained model predicts the development split through the pipeline (flat, its own threshold), each way in "
        "its own process (`benchmarks/span_cap.py`): `capped` (default, `max_span_candidates=512` per type and "
        "window), `uncapped` (every span whose start and end clear the threshold, as before the cap), `dense` "
        "(every span up to `max_span_length`). Peak growth: resident memory over the loaded process; left out: span "
        "candidates the cap did not score (counted from its warnings).",
        "",
        "| model | mode | threshold | texts | seconds | sentences/s | peak growth MB | entities | left out |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    for result in results:
        for row in result["rows"]:
            lines.append(
                f"| {result['model']} | {row['mode']} | {row.get('threshold', '')} | {row['texts']} | "
                f"{row['seconds']} | {row['sentences_per_second']} | {row['peak_growth_mb']} | {row['entities']} | "
                f"{row['candidates_left_out']} |"
            )
    for result in results:
        lines.append("")
        lines.append(
            f"`{result['model']}`: capped entities {'equal' if result['capped_equals_uncapped'] else 'differ from'} "
            f"the uncapped ones. Command: `{result['command']}` ({result['date']}; {result['machine']})"
        )
    write_section("span_cap", "\n".join(lines))


if __name__ == "__main__":
    main()
