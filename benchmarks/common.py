"""Helpers shared by the benchmark scripts: the machine description and BENCHMARKS.md sections."""

from __future__ import annotations

import datetime
import os
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the datasets beside the checkout; MULTINER_DATA points elsewhere (a machine where they lie inside the tree)
DATA = Path(os.environ.get("MULTINER_DATA", ROOT.parent / "shared" / "data"))
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def machine() -> str:
    import torch
    import transformers

    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").is_file():
        names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = names[0] if names else cpu
    gpu = f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores visible, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}, Python {platform.python_version()}{gpu}"
    )


def command() -> str:
    script = Path(sys.argv[0])
    script = script.relative_to(ROOT) if script.is_absolute() else script
    return " ".join(["python", str(script), *sys.argv[1:]])


def today() -> str:
    return datetime.date.today().isoformat()


def provenance() -> dict[str, str]:
    """What every result records beside its numbers: the command that made it, the machine and the date."""
    return {"command": command(), "machine": machine(), "date": today()}


def write_result(path: Path, result: dict, echo: bool = False) -> None:
    """A run's record as indented JSON at `path` (its folder made if needed); printed too with `echo`."""
    import json

    text = json.dumps(result, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    if echo:
        print(text)


def run_training_script(script: str, runs: dict[str, list[str]], names: list[str], work: Path, results: Path) -> None:
    """Run `examples/<script>` once per named run, one at a time, each with its arguments and
    `--output_dir work/<name>`; its `results.json`, with the run's name, wall time, machine and date, goes to
    `results/<name>.json`."""
    import json
    import subprocess
    import time

    for name in names:
        arguments = runs[name] + ["--output_dir", str(work / name)]
        print("running", name, flush=True)
        started = time.time()
        subprocess.run([sys.executable, str(ROOT / "examples" / script), *arguments], check=True, cwd=ROOT)
        found = json.loads((work / name / "results.json").read_text())
        found.update(run=name, wall_seconds=round(time.time() - started, 1), machine=machine(), date=today())
        write_result(results / f"{name}.json", found)


def runs_footer(results: list[dict], notes: str, heading: str) -> list[str]:
    """The lines under a runs table: the notes (when given), then each run's command, date and wall time (when
    recorded), then the machines."""
    lines = ["", notes.strip()] if notes else []
    lines += ["", heading, ""]
    lines += [
        f"- `{r['command']}` ({r['date']}"
        + (f"; {r['wall_seconds'] / 60:.1f} min wall)" if "wall_seconds" in r else ")")
        for r in results
    ]
    return lines + ["", "Machine: " + "; ".join(sorted({r["machine"] for r in results}))]


def named_runs_main(description: str, script: str, runs: dict, results: Path, work: Path, report) -> None:
    """The command line of a named-runs benchmark: `run <names>|all [--work DIR]` runs `examples/<script>` once per
    name (`run_training_script`); `report [--notes FILE]` calls `report(notes)`."""
    import argparse

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run")
    runner.add_argument("names", nargs="+", help=f"'all' or some of {', '.join(runs)}")
    runner.add_argument("--work", type=Path, default=work)
    reporter = commands.add_parser("report")
    reporter.add_argument("--notes", type=Path, help="a Markdown file of prose to put under the table")
    args = parser.parse_args()
    if args.command == "report":
        report(args.notes.read_text() if args.notes else "")
        return
    unknown = [name for name in args.names if name != "all" and name not in runs]
    if unknown:
        parser.error(f"unknown runs {unknown}; choose from {list(runs)}")
    names = list(runs) if args.names == ["all"] else args.names
    run_training_script(script, runs, names, args.work, results)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between `<!-- name:start -->` and `<!-- name:end -->` in BENCHMARKS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.is_file() else "# Benchmarks\n"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


def small_conll_model(query_mode: str = "per_type") -> Path:
    """A small trained Multi-NER model for speed measurements (decoding costs what it costs with a trained model):
    2 epochs on the first 400 CoNLL-2003 training sentences of 4+ words, lr 3e-4, default queries, type attention
    "full". Trained once, kept in benchmarks/results/ (not committed)."""
    from transformers import set_seed

    from multiner import MultiNerDataCollator, MultiNerModel, MultiNerProcessor
    from multiner.readers import read_conll

    name = "multiner-conll-small" if query_mode == "per_type" else f"multiner-conll-small-{query_mode}"
    folder = ROOT / "benchmarks" / "results" / name
    if (folder / "model.safetensors").is_file():
        return folder
    set_seed(0)
    types = ["PER", "LOC", "ORG", "MISC"]
    examples = [e for e in read_conll(DATA / "conll2003" / "eng.train") if len(e["tokens"]) >= 4][:400]
    model = MultiNerModel.from_encoder(entity_types=types, query_mode=query_mode)
    processor = MultiNerProcessor.from_model(model)
    return train_small(model, processor, MultiNerDataCollator, examples, folder)


def small_conll04_joint_model() -> Path:
    """A small trained joint ER model (span entity head) for speed measurements: 4 epochs on the first 400 CoNLL04
    training sentences, the encoder at 5e-5 and the new parts at 1e-3 (2 epochs at one rate of 3e-4 left the span
    head finding nothing). Trained once, kept in benchmarks/results/ (not committed)."""
    from transformers import set_seed

    from multiner import JointErDataCollator, JointErModel, JointErProcessor
    from multiner.readers import read_spert_json, words_to_text

    folder = ROOT / "benchmarks" / "results" / "joint-er-conll04-small-4ep"
    if (folder / "model.safetensors").is_file():
        return folder
    set_seed(0)
    examples = [words_to_text(e) for e in read_spert_json(DATA / "conll04" / "train_triples.json")[:400]]
    entity_types = sorted({e["label"] for example in examples for e in example["entities"]})
    relation_types = sorted({r["type"] for example in examples for r in example["relations"]})
    model = JointErModel.from_encoder(entity_types=entity_types, relation_types=relation_types, ner_head="span")
    processor = JointErProcessor.from_model(model)
    return train_small(model, processor, JointErDataCollator, examples, folder, epochs=4, head_learning_rate=1e-3)


def train_small(
    model, processor, collator_class, examples: list[dict], folder: Path, epochs: int = 2, head_learning_rate=None
) -> Path:
    """The small speed-benchmark models' training: `epochs` (2), batch 8, 10 warmup steps, lr 3e-4, or with
    `head_learning_rate` 5e-5 for the encoder and that rate for the new parts; saved to `folder`."""
    import datasets
    from transformers import Trainer, TrainingArguments

    from multiner.training_core import head_optimizer

    data = datasets.Dataset.from_list(examples)
    train = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    args = TrainingArguments(
        output_dir=str(folder / "run"),
        num_train_epochs=epochs,
        per_device_train_batch_size=8,
        learning_rate=3e-4 if head_learning_rate is None else 5e-5,
        warmup_steps=10,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
    )
    collator = collator_class.from_processor(processor)
    optimizer = head_optimizer(model, 5e-5, head_learning_rate) if head_learning_rate else None
    Trainer(model=model, args=args, train_dataset=train, data_collator=collator, optimizers=(optimizer, None)).train()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
