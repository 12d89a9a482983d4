"""The seq2seq family's ablation at the converged budget, from the training records: every run of
`examples/train_seq2seq.py` on the full CADEC training set kept in benchmarks/results/seq2seq_targets/ (one JSON per
run: the script's results.json, its command made relative), one row per run and one per configuration over its seeds.

    python benchmarks/seq2seq_ablation.py

Trains nothing: the runs are made by the command each record holds (8 epochs, `--score_each_epoch`), one at a time,
each alone on the machine. Writes the section "seq2seq_ablation" of BENCHMARKS.md.
"""

from __future__ import annotations

import json
import shlex
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, write_section  # noqa: E402

RECORDS = ROOT / "benchmarks" / "results" / "seq2seq_targets"
# the Baseline's records (2026-12-01) predate the machine field; the seq2seq_targets section says where they ran
UNRECORDED_MACHINE = "AMD EPYC, 2 cores visible, torch 2.13.0+cpu, transformers 5.24.0, Python 3.11.7; alone"
ADDITIONS = {"--relation_prediction": "RP", "--token_relation_attention": "TRA", "--entity_type_attention": "ETA"}


def configuration(command: str) -> tuple[str, str, int]:
    """The additions a training command switches on, what else it changes (target mode, RP's loss weight, type
    embeddings, gates' rate, ungated form) and its seed.

    Example:
        >>> configuration("python t.py --relation_prediction --entity_type_attention --type_names_only --seed 43")
        ('RP & ETA', 'type names', 43)
        >>> configuration("python t.py --target_mode all_words")
        ('Baseline', 'all_words targets', 42)
    """
    words = shlex.split(command)
    options = dict(zip(words, [*words[1:], ""]))
    additions = " & ".join(name for flag, name in ADDITIONS.items() if flag in words) or "Baseline"
    variant = []
    if options.get("--target_mode", "fragment_bounds") != "fragment_bounds":
        variant.append(f"{options['--target_mode']} targets")
    if "--relation_loss_weight" in options:
        variant.append(f"RP weight {options['--relation_loss_weight']}")
    if "--entity_type_attention" in words:
        variant.append("type names" if "--type_names_only" in words else "entity base")
    if "--gate_learning_rate" in options:
        variant.append(f"gates at {options['--gate_learning_rate']}")
    if options.get("--gated_additions", "True") == "False":
        variant.append("ungated")
    return additions, ", ".join(variant), int(options.get("--seed", 42))


def spread(values: list[float]) -> str:
    """`low…high` of a run's learned gates (`tanh`) that left 0, '–' where none did."""
    opened = [value for value in values if value != 0.0]
    return f"{min(opened):+.4f}…{max(opened):+.4f}" if opened else "–"


def training_minutes(record: dict) -> tuple[float, bool]:
    """A run's training minutes, and whether they are an estimate: a run resumed from a checkpoint timed only the
    share of the schedule it trained (`resumed.trained_share`), so its minutes are that part's, scaled to the whole.

    Example:
        >>> training_minutes({"train_seconds": 1800.0})
        (30.0, False)
        >>> training_minutes({"train_seconds": 1800.0, "resumed": {"trained_share": 0.375}})
        (80.0, True)
    """
    share = record.get("resumed", {}).get("trained_share", 1.0)
    return record["train_seconds"] / share / 60, share < 1.0


def minutes_text(minutes: float, estimated: bool) -> str:
    return f"≈{minutes:.1f}" if estimated else f"{minutes:.1f}"


def report() -> None:
    records = [json.loads(path.read_text()) for path in sorted(RECORDS.glob("*.json"))]
    runs = []
    for record in records:
        additions, variant, seed = configuration(record["command"])
        minutes, estimated = training_minutes(record)
        scores = record["evaluations"]["beams_1"]["scores"]
        gates = record.get("gates", {})
        runs.append(
            {
                "name": f"{additions}{f' ({variant})' if variant else ''}",
                "seed": seed,
                "f1": 100 * scores["all"]["f1"],
                "precision": 100 * scores["all"]["precision"],
                "recall": 100 * scores["all"]["recall"],
                "disc": scores["discontinuous"],
                "type_gates": spread(gates.get("type", [])),
                "relation_gates": spread(gates.get("relation", [])),
                "minutes": minutes,
                "estimated": estimated,
            }
        )
    runs.sort(key=lambda run: (run["name"] != "Baseline", run["name"], run["seed"]))
    lines = [
        "## Seq2seq ablation at the converged budget (issue: the multi-task transformer at its own regime)",
        "",
        "Every training run on all 5,340 CADEC training sentences, 8 epochs (the Baseline's converged budget), batch",
        "16, lr 5e-5 backbone / 1e-4 new parts, `fragment_bounds` targets, greedy decoding, scored on CADEC **dev**",
        "(strict: type and every fragment). RP = the word-pair task, TRA = token-relation attention, ETA =",
        "entity-type attention (both behind gates that start closed). Gates: `tanh` of each attention layer's",
        "learned gate, lowest…highest over the layers whose gate left 0 (a run without the addition, and the layers",
        "that read no relation vectors, keep theirs at exactly 0; –: no gate left 0). Train min ≈: a run resumed from",
        "a checkpoint, whose timed part is scaled to the whole schedule. Written by",
        "`python benchmarks/seq2seq_ablation.py` from the records in `benchmarks/results/seq2seq_targets/`.",
        "",
        "| run | seed | F1 | P | R | disc. F1 (P / R) | disc. written (right) | type gates | relation gates | "
        "train min |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        disc = run["disc"]
        right = round(disc["precision"] * disc["predicted"])
        lines.append(
            f"| {run['name']} | {run['seed']} | {run['f1']:.2f} | {run['precision']:.2f} | {run['recall']:.2f} | "
            f"{100 * disc['f1']:.2f} ({100 * disc['precision']:.2f} / {100 * disc['recall']:.2f}) | "
            f"{disc['predicted']} ({right}) | {run['type_gates']} | {run['relation_gates']} | "
            f"{minutes_text(run['minutes'], run['estimated'])} |"
        )
    names = list(dict.fromkeys(run["name"] for run in runs))
    baseline = [run for run in runs if run["name"] == "Baseline"]
    base_f1 = statistics.mean(run["f1"] for run in baseline) if baseline else None
    base_disc = statistics.mean(100 * run["disc"]["f1"] for run in baseline) if baseline else None
    lines += [
        "",
        "Per configuration, the mean over its seeds (one seed moves the Baseline's F1 by about a point):",
        "",
        "| run | seeds | F1 | against the Baseline | disc. F1 | against the Baseline | train min |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        group = [run for run in runs if run["name"] == name]
        f1 = statistics.mean(run["f1"] for run in group)
        disc = statistics.mean(100 * run["disc"]["f1"] for run in group)
        minutes = statistics.mean(run["minutes"] for run in group)
        estimated = any(run["estimated"] for run in group)
        seeds = ", ".join(str(run["seed"]) for run in group)
        versus = f"{f1 - base_f1:+.2f}" if base_f1 is not None and name != "Baseline" else "–"
        versus_disc = f"{disc - base_disc:+.2f}" if base_disc is not None and name != "Baseline" else "–"
        lines.append(
            f"| {name} | {seeds} | {f1:.2f} | {versus} | {disc:.2f} | {versus_disc} | "
            f"{minutes_text(minutes, estimated)} |"
        )
    lines += ["", "Commands, one per record:", ""]
    lines += [f"- `{record['command']}`" for record in records]
    machines = sorted({record.get("machine", UNRECORDED_MACHINE) for record in records})
    lines += ["", "Machines, as the records say:", "", *[f"- {machine}" for machine in machines]]
    write_section("seq2seq_ablation", "\n".join(lines))


if __name__ == "__main__":
    report()
