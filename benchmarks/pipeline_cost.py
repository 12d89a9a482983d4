"""Prediction cost of a trained Multi-NER model's pipeline beside transformers' token-classification pipeline, on
the development texts of a dataset: sentences per second and the process's peak memory, each pipeline in a process
of its own (so one's memory does not count in the other's).

The token-classification model is the packaged encoder with a `2·types + 1`-label head whose bias makes it tag
every token "O", unless `--token_model` names a trained folder: its cheapest output (no entity to aggregate), so the
ratios are conservative for Multi-NER. Both pipelines read the same texts at the same batch size,
after a warm-up batch; each batch size is measured in a fresh process.

    python benchmarks/pipeline_cost.py --model DIR [--dataset wnut16] [--batch_sizes 1 32] [--token_model DIR]

Writes benchmarks/results/pipeline_cost/<dataset>-<model folder name>.json and the section "pipeline_cost" of
BENCHMARKS.md (one row per model measured, kept across runs).
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
from common import DATA, ROOT, provenance, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "pipeline_cost"
COLUMNS = (
    "dataset",
    "Multi-NER model",
    "batch size",
    "Multi-NER sentences/s",
    "token classification sentences/s",
    "speed ratio",
    "Multi-NER peak MB",
    "token classification peak MB",
    "memory ratio",
    "date",
)
HEADER = f"| {' | '.join(COLUMNS)} |\n|{'---|' * len(COLUMNS)}"
DEV_FILES = {"wnut16": DATA / "wnut16" / "dev.conll", "conll2003": DATA / "conll2003" / "eng.testa"}


def measure(system: str, model: str, dataset: str, batch_size: int, token_model: str | None) -> dict:
    """One pipeline in this process: sentences/s over the dev texts and the process's peak resident memory."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    import multiner  # noqa: F401  (registers the "multi-ner" task)
    from multiner import MultiNerConfig, default_encoder_path
    from multiner.readers import read_conll

    texts = [" ".join(example["tokens"]) for example in read_conll(DEV_FILES[dataset])]
    torch.manual_seed(0)
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if system == "multi-ner":
        run = pipeline("multi-ner", model=model, batch_size=batch_size)
    else:
        types = len(MultiNerConfig.from_pretrained(model).entity_types)
        encoder = token_model or default_encoder_path()
        labels = ["O"] + [f"{prefix}-{index}" for index in range(types) for prefix in ("B", "I")]
        token_classifier = AutoModelForTokenClassification.from_pretrained(
            encoder,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={v: k for k, v in enumerate(labels)},
        )
        if not token_model:
            with torch.no_grad():
                token_classifier.classifier.bias[0] = 100.0  # label 0 ("O") everywhere: nothing to aggregate
        run = pipeline(
            "token-classification",
            model=token_classifier,
            tokenizer=AutoTokenizer.from_pretrained(encoder),
            aggregation_strategy="simple",
            batch_size=batch_size,
        )
    run(texts[:batch_size])  # warm-up
    start = time.perf_counter()
    found = run(texts)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "sentences_per_second": round(len(texts) / seconds, 2),
        "entities_found": sum(len(entities) for entities in found),
        "peak_memory_mb": round(peak / 1024),
        "memory_before_loading_mb": round(loaded / 1024),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A trained Multi-NER model folder.")
    parser.add_argument("--dataset", choices=sorted(DEV_FILES), default="wnut16")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--token_model", default=None, help="A trained token-classification folder (optional).")
    parser.add_argument("--only", choices=["multi-ner", "token-classification"], help=argparse.SUPPRESS)
    parser.add_argument("--batch_size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:  # a child process: one pipeline, one batch size
        print(json.dumps(measure(args.only, args.model, args.dataset, args.batch_size, args.token_model)))
        return

    rows = []
    for batch_size in args.batch_sizes:
        row = {"batch_size": batch_size}
        for system in ("multi-ner", "token-classification"):
            child = [sys.executable, __file__, "--model", args.model, "--dataset", args.dataset]
            child += ["--only", system, "--batch_size", str(batch_size)]
            child += ["--token_model", args.token_model] if args.token_model else []
            output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            row[system] = json.loads(output.strip().splitlines()[-1])
        row["speed_ratio"] = round(
            row["multi-ner"]["sentences_per_second"] / row["token-classification"]["sentences_per_second"], 3
        )
        row["memory_ratio"] = round(
            row["multi-ner"]["peak_memory_mb"] / row["token-classification"]["peak_memory_mb"], 3
        )
        rows.append(row)
        print(json.dumps(row), flush=True)

    from multiner import MultiNerConfig

    config = MultiNerConfig.from_pretrained(args.model)
    result = {
        "dataset": args.dataset,
        "model": Path(args.model).name,
        "query_mode": config.query_mode,
        "type_attention": config.type_attention,
        "casing_features": config.casing_features,
        "entity_types": len(config.entity_types),
        "rows": rows,
        **provenance(),
    }
    write_result(RESULTS / f"{args.dataset}-{Path(args.model).name}.json", result)
    report()


def report() -> None:
    lines = []
    for path in sorted(RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        for row in result["rows"]:
            ours, theirs = row["multi-ner"], row["token-classification"]
            lines.append(
                f"| {result['dataset']} | {result['model']} ({result['query_mode']}, type attention "
                f"{result['type_attention']}, casing {result['casing_features']}) | {row['batch_size']} | "
                f"{ours['sentences_per_second']} | {theirs['sentences_per_second']} | **{row['speed_ratio']}** | "
                f"{ours['peak_memory_mb']} | {theirs['peak_memory_mb']} | **{row['memory_ratio']}** | "
                f"{result['date']} |"
            )
    commands = sorted({f"`{json.loads(p.read_text())['command']}`" for p in RESULTS.glob("*.json")})
    machines = sorted({json.loads(p.read_text())["machine"] for p in RESULTS.glob("*.json")})
    write_section(
        "pipeline_cost",
        f"""
## Prediction cost through the pipelines (issue: a new domain with a new label set)

Every development text of the dataset, `pipeline("multi-ner", model=folder)` beside transformers'
`pipeline("token-classification", aggregation_strategy="simple")` on the same encoder, at the same batch size, each
in a process of its own after a warm-up batch. Peak memory is the whole process's peak resident set (Python, torch,
the model and the prediction).

{HEADER}
{chr(10).join(lines)}

- Commands: {", ".join(commands)}
- Machine: {"; ".join(machines)}
""",
    )


if __name__ == "__main__":
    main()
