"""Generation speed and scores of trained seq2seq NER models, greedy and with beam search, in one run: each model
folder through the `seq2seq-ner` pipeline over a development file, once per beam count, after one warm-up batch.

    python benchmarks/seq2seq_speed.py --model DIR [DIR ...] [--validation_file ../shared/data/cadec/dev.txt] \
        [--num_beams 1 4] [--batch_size 16] [--close_gates]

Writes benchmarks/results/seq2seq_speed/<model folder name>.json (sentences/s, strict F1 / P / R of all and of the
discontinuous mentions, the model's switches) and the section "seq2seq_speed" of BENCHMARKS.md. `--close_gates` sets
a gated model's `addition_gates` to 0 before scoring, so that TRA and ETA add nothing to any layer: the trained
weights read as a Baseline, which tells the additions' learned reading apart from what training with them did to the
shared weights; its record is `<model folder name>-gates-closed.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "seq2seq_speed"
SWITCHES = ("relation_prediction", "token_relation_attention", "entity_type_attention", "target_mode")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", required=True, help="Trained seq2seq NER folders.")
    parser.add_argument("--validation_file", default=str(DATA / "cadec" / "dev.txt"))
    parser.add_argument("--num_beams", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--close_gates", action="store_true", help="Score with the addition gates set to 0.")
    args = parser.parse_args()

    from transformers import pipeline

    import multiner  # noqa: F401  (registers the "seq2seq-ner" task)
    from multiner.ner_metric import as_metric_entities, headline, load_ner_metric
    from multiner.readers import read_discontinuous, words_to_text

    examples = [words_to_text(example) for example in read_discontinuous(args.validation_file)]
    texts = [example["text"] for example in examples]
    references = [as_metric_entities(example["entities"], fragments=True) for example in examples]
    metric = load_ner_metric("fragments")
    for folder in args.model:
        extract = pipeline("seq2seq-ner", model=folder, batch_size=args.batch_size)
        config = extract.model.config
        model_name = Path(folder).name + ("-gates-closed" if args.close_gates else "")
        if args.close_gates:
            close_gates(extract.model, folder)
        rows = {}
        for num_beams in args.num_beams:
            extract(texts[: args.batch_size], num_beams=num_beams)  # warm-up
            started = time.perf_counter()
            found = extract(texts, num_beams=num_beams)
            seconds = time.perf_counter() - started
            scores = metric.compute(
                predictions=[as_metric_entities(entities, fragments=True) for entities in found], references=references
            )
            rows[f"beams_{num_beams}"] = {"sentences_per_second": round(len(texts) / seconds, 1), **headline(scores)}
            print(f"{model_name} num_beams={num_beams}: {rows[f'beams_{num_beams}']}", flush=True)
        result = {
            "model": model_name,
            "switches": {name: getattr(config, name) for name in SWITCHES},
            "validation_file": Path(args.validation_file).name,
            "sentences": len(texts),
            "batch_size": args.batch_size,
            "evaluations": rows,
            **provenance(),
        }
        write_result(RESULTS / f"{result['model']}.json", result)
    report()


def close_gates(model, folder: str = "the model") -> None:
    """Set a gated seq2seq model's addition gates to 0, in place: TRA and ETA then add nothing to any layer, and the
    model computes the Baseline's outputs with its trained weights."""
    import torch

    if getattr(model, "addition_gates", None) is None:
        raise ValueError(
            f"{folder} has no addition gates to close: it was trained without token_relation_attention and "
            "entity_type_attention, or with gated_additions=False. Leave out --close_gates for it."
        )
    with torch.no_grad():
        model.addition_gates.zero_()


def report() -> None:
    results = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*.json"))]
    beams = sorted({name for result in results for name in result["evaluations"]}, key=lambda n: int(n.split("_")[1]))
    header = " | ".join(f"{name.replace('_', ' ')}: sentences/s, F1, disc. F1" for name in beams)
    lines = [
        "## Seq2seq generation speed, greedy and beam (issue: the multi-task transformer at its own regime)",
        "",
        "Each trained model through the `seq2seq-ner` pipeline over the development file, once per beam count, in one",
        "process after a warm-up batch (`benchmarks/seq2seq_speed.py`); strict F1 of all and of the discontinuous",
        "mentions. Rows `<model>-gates-closed`: that model scored with its addition gates set to 0 (`--close_gates`),",
        "so that TRA and ETA add nothing to any layer.",
        "",
        f"| model | RP | TRA | ETA | targets | {header} | date |",
        "|" + "---|" * (6 + len(beams)),
    ]
    for result in results:
        switches = result["switches"]
        flags = " | ".join("yes" if switches[name] else "–" for name in SWITCHES[:3])
        cells = " | ".join(_cell(result["evaluations"].get(name)) for name in beams)
        lines.append(f"| {result['model']} | {flags} | {switches['target_mode']} | {cells} | {result['date']} |")
    runs = {}  # the models each command measured, in one process: speeds compare within a run, not across runs
    for result in results:
        runs.setdefault((result["command"], result["machine"]), []).append(result)
    lines += ["", "Sentences/s compare within one run (one process), not across runs. Runs:", ""]
    for (run_command, run_machine), measured in runs.items():
        first = measured[0]
        lines.append(
            f"- `{run_command}` ({first['date']}; {', '.join(r['model'] for r in measured)}; {first['sentences']} "
            f"sentences of {first['validation_file']}, batch {first['batch_size']}; {run_machine})"
        )
    write_section("seq2seq_speed", "\n".join(lines))


def _cell(row: dict | None) -> str:
    return "–" if row is None else f"{row['sentences_per_second']}, {row['f1']}, {row['discontinuous_f1']}"


if __name__ == "__main__":
    main()
