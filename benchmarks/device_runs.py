"""Many training runs at once on one lent GPU machine: the runs of issues 26-28 that take hours on two CPU cores.

Each run is one command of the project's own scripts (examples/train_*.py, benchmarks/side_by_side.py), started in
priority order, at most `--parallel` at a time, each on one CPU thread beside the shared GPU; none starts after
`--start_until` seconds and every one still running at `--deadline` seconds is stopped (its log keeps the epochs
it finished: the seq2seq runs print a dev score per epoch). What each wrote (results.json, side_by_side's json)
and its log are collected into `--out`, with `plan.json` (commands, exit codes, wall times) and `machine.json`.

    python benchmarks/device_runs.py --encoder /tmp/encoder --data /tmp/data --out $OUT [--smoke]

`--smoke` runs every command on a few sentences for one epoch (the same code paths; minutes on a CPU), to check a
plan before a GPU call. Times measured here are of runs sharing one GPU and say nothing of one run alone.

What a device call carries (the folder `.gpu/`, ignored; 62 MB, under a call's 64 MiB): `whl/` (transformers 5.24.0,
datasets, evaluate, dill, multiprocess and seqeval wheels for Python 3.12: the device image has torch but not these),
`encoder/` (the packaged encoder's config and tokenizer files, its weights as `model.fp16.safetensors`: float32 does
not fit) and `data.tar.xz` (the datasets the plan reads). On 2026-11-30, 14 runs at a time left each run no faster
than this project's 2-core CPU (BENCHMARKS.md, device_runs): give the GPU 3-4 runs at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (42, 43)


def plan(encoder: str, data: Path, work: Path) -> list[tuple[str, list[str]]]:
    """(name, command) in priority order: the longest runs first."""
    runs = []
    seq2seq = [
        "examples/train_seq2seq.py",
        "--encoder",
        encoder,
        "--train_file",
        str(data / "cadec" / "train.txt"),
        "--validation_file",
        str(data / "cadec" / "dev.txt"),
        "--num_train_epochs",
        "10",
        "--per_device_eval_batch_size",
        "128",
    ]
    rows = {
        "baseline": [],
        "rp_tra_eta": ["--relation_prediction", "--token_relation_attention", "--entity_type_attention"],
        "rp_tra": ["--relation_prediction", "--token_relation_attention"],
        "rp_eta": ["--relation_prediction", "--entity_type_attention"],
    }
    for seed in SEEDS:
        for row, flags in rows.items():
            curve = ["--score_each_epoch"] if seed == 42 and row in ("baseline", "rp_tra_eta") else []
            beams = ["--num_beams", "1", "4"] if seed == 42 else ["--num_beams", "1"]
            name = f"cadec-{row}-s{seed}"
            runs.append(
                (name, [*seq2seq, *flags, *curve, *beams, "--seed", str(seed), "--output_dir", str(work / name)])
            )
    runs.append(
        (
            "cadec-rp_tra_eta-ungated-s42",
            [*seq2seq, *rows["rp_tra_eta"], "--gated_additions", "False", "--num_beams", "1", "--seed", "42"]
            + ["--output_dir", str(work / "cadec-rp_tra_eta-ungated-s42")],
        )
    )
    runs.append(
        (
            "cadec-baseline-fragment_bounds-s42",
            [*seq2seq, "--target_mode", "fragment_bounds", "--num_beams", "1", "--seed", "42"]
            + ["--output_dir", str(work / "cadec-baseline-fragment_bounds-s42")],
        )
    )
    joint = [
        "examples/train_joint_er.py",
        "--encoder",
        encoder,
        "--train_file",
        str(data / "conll04" / "train_triples.json"),
        "--validation_file",
        str(data / "conll04" / "dev_triples.json"),
    ]
    words = ["--casing_features", "--char_features"]
    variants = {
        "bio": [],
        "bio-casing-chars": words,
        "span-casing-chars": ["--ner_head", "span", *words],
        "bio-casing": ["--casing_features"],
        "span": ["--ner_head", "span"],
    }
    for seed in SEEDS:
        for variant, flags in variants.items():
            if seed == 43 and variant in ("bio-casing", "span"):
                continue
            name = f"conll04-{variant}-s{seed}"
            runs.append((name, [*joint, *flags, "--seed", str(seed), "--output_dir", str(work / name)]))
    for ablation in ("no_ner_layers", "no_re_layers", "no_task_layers"):
        name = f"conll04-bio-casing-chars-{ablation}-s42"
        runs.append((name, [*joint, *words, "--ablation", ablation, "--output_dir", str(work / name)]))
    for fold in (0, 1, 2):
        ade = ["examples/train_joint_er.py", "--encoder", encoder, "--ade_folder", str(data / "ade")]
        ade += ["--ade_fold", str(fold), "--num_train_epochs", "3", "--remove_overlaps"]
        for variant, flags in (("bio", []), ("bio-casing-chars", words)):
            name = f"ade{fold}-{variant}"
            runs.append((name, [*ade, *flags, "--output_dir", str(work / name)]))
    side = ["benchmarks/side_by_side.py", "run", "--encoder", encoder, "--epochs", "3", "--warmup", "0.1"]
    recipe = ["--head_learning_rate", "1e-3", "--calibration_fraction", "0.1"]
    systems = {
        "packed-casing": ["--system", "multi-ner-packed", *recipe, "--casing_features"],
        "packed": ["--system", "multi-ner-packed", *recipe],
        "token-classification": ["--system", "token-classification"],
    }
    for seed in SEEDS:
        for system, flags in systems.items():
            runs.append((f"wnut16-{system}-s{seed}", [*side, "--dataset", "wnut16", *flags, "--seed", str(seed)]))
    for samples in (500, 1000):
        for system in ("packed-casing", "token-classification"):  # the learning curve
            name = f"wnut16-{system}-sub{samples}"
            runs.append((name, [*side, "--dataset", "wnut16", *systems[system], "--train_samples", str(samples)]))
    conll = ["benchmarks/side_by_side.py", "run", "--encoder", encoder, "--dataset", "conll2003"]
    conll += ["--system", "multi-ner-packed", "--epochs", "1", "--head_learning_rate", "1e-3"]
    conll += ["--calibration_fraction", "0.1"]
    runs.append(("conll2003-packed-casing", [*conll, "--casing_features"]))
    runs.append(("conll2003-packed", conll))
    return sorted(runs, key=lambda run: priority(run[0]))


def priority(name: str) -> int:
    """Start order: the seq2seq runs (the longest), then the first seed of everything, CoNLL-2003 early (a long
    epoch), the second seeds, the rest."""
    if name.startswith("cadec"):
        return 0
    if name.startswith("conll2003"):
        return 2
    if name.endswith("s43"):
        return 3
    if name.startswith("conll04") and name.endswith("s42") and "_layers" not in name:
        return 1
    if name.startswith("wnut16") and name.endswith("s42"):
        return 1
    return 4


def smoke(command: list[str]) -> list[str]:
    """The same command on a few sentences for one epoch."""
    script = command[0]
    if script.endswith("side_by_side.py"):
        command = [*command, "--train_samples", "40", "--dev_samples", "20"]
        return [*_replaced(command, "--epochs", "1")]
    command = _replaced(command, "--num_train_epochs", "1")
    return [*command, "--max_train_samples", "40", "--max_eval_samples", "20"]


def _replaced(command: list[str], flag: str, value: str) -> list[str]:
    if flag in command:
        command = list(command)
        command[command.index(flag) + 1] = value
        return command
    return [*command, flag, value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", required=True, help="encoder folder (all-MiniLM-L6-v2)")
    parser.add_argument(
        "--encoder_fp16",
        type=Path,
        default=None,
        help="a folder of the encoder stored in float16: written to --encoder",
    )
    parser.add_argument("--data", type=Path, required=True, help="the datasets folder (../shared/data's layout)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parallel", type=int, default=4, help="runs at a time (14 starved each other on one H200)")
    parser.add_argument("--start_until", type=float, default=330.0)
    parser.add_argument("--deadline", type=float, default=480.0)
    parser.add_argument("--only", default=None, help="comma-separated run names (default: all)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--archive", type=Path, default=None, help="also pack --out into this .tgz after each run")
    args = parser.parse_args()
    started = time.time()
    if args.encoder_fp16:
        widen(args.encoder_fp16, Path(args.encoder))
    work = Path("/tmp/device_runs")
    work.mkdir(parents=True, exist_ok=True)
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    queue = plan(args.encoder, args.data, work)
    if args.only:
        queue = [(name, command) for name, command in queue if name in args.only.split(",")]
    if args.smoke:
        queue = [(name, smoke(command)) for name, command in queue]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MULTINER_DATA": str(args.data)}
    running: dict[str, tuple[subprocess.Popen, float, object]] = {}
    record: dict[str, dict] = {name: {"command": " ".join(command)} for name, command in queue}
    pending = list(queue)
    while pending or running:
        elapsed = time.time() - started
        while pending and len(running) < args.parallel and elapsed < args.start_until:
            name, command = pending.pop(0)
            log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed when its run ends)
            process = subprocess.Popen(
                [sys.executable, *command], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
            running[name] = (process, time.time(), log)
            print(f"{elapsed:6.0f}s start {name}", flush=True)
        for name, (process, begun, log) in list(running.items()):
            code = process.poll()
            if code is None and elapsed > args.deadline:
                process.kill()
                code = "killed at the deadline"
            if code is not None:
                log.close()
                record[name].update(exit=code, seconds=round(time.time() - begun, 1))
                print(f"{elapsed:6.0f}s done  {name}: {code} ({record[name]['seconds']} s)", flush=True)
                del running[name]
                collect(args, queue, work, record, started)
        if elapsed >= args.start_until and pending:
            for name, _ in pending:
                record[name]["exit"] = "not started"
            pending = []
        time.sleep(1.0)
    collect(args, queue, work, record, started)
    print(f"{time.time() - started:.0f}s in all", flush=True)


def collect(args, queue: list, work: Path, record: dict, started: float) -> None:
    """Copy what the finished runs wrote into `--out` (results/, plan.json, machine.json) and, with `--archive`,
    pack `--out` into that one file (rewritten after every run, so a call cut short still returns the runs before)."""
    collected = args.out / "results"
    collected.mkdir(exist_ok=True)
    for name, _ in queue:
        results = work / name / "results.json"
        if results.exists():
            shutil.copy(results, collected / f"{name}.json")
    for path in (ROOT / "benchmarks" / "results" / "side_by_side").glob("*.json"):
        if path.stat().st_mtime > started:
            shutil.copy(path, collected / f"side_by_side-{path.name}")
    (args.out / "plan.json").write_text(json.dumps(record, indent=2) + "\n")
    (args.out / "machine.json").write_text(json.dumps(machine(), indent=2) + "\n")
    if args.archive:
        partial = args.archive.with_suffix(".partial")
        subprocess.run(["tar", "czf", str(partial), "-C", str(args.out), "."], check=True)
        partial.replace(args.archive)


def widen(source: Path, target: Path) -> None:
    """A copy of the encoder folder `source` whose float16 weights (`model.fp16.safetensors`, the form that fits a
    device call's upload) are float32 again, as the packaged encoder's."""
    from safetensors.torch import load_file, save_file

    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.name != "model.fp16.safetensors":
            shutil.copy(path, target / path.name)
    weights = load_file(source / "model.fp16.safetensors")
    widened = {name: value.float() if value.is_floating_point() else value for name, value in weights.items()}
    save_file(widened, target / "model.safetensors", metadata={"format": "pt"})


def machine() -> dict:
    import torch
    import transformers

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "gpu": gpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


if __name__ == "__main__":
    main()
