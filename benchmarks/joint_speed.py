"""Training and prediction speed of the joint family's default beside 0.5's default, in one run: 0.5's default as
0.5.0 shipped it (its own code, from git) and as this code runs it (its switches: BIO-CRF, no word features, no pair
context). Each system lives in a process of its own; all train on the same CoNLL04 batches in the same order, in
chunks of steps taken in turn (the order rotating each chunk), so that a change of the machine's speed during the run
falls on all; then each predicts the development texts through the pipeline, in turn again, a slice of three
batches at a time. Sentences per second, and the ratios per chunk and per round.

    python benchmarks/joint_speed.py [--epochs 2] [--chunk 20] [--predict_rounds 10] [--baseline_revision e6cfdd1]

Each model starts from the packaged encoder (the same seed), trains with the recipe's batch of 8 and its two rates
(5e-5 encoder, 1e-3 the rest; constant, no warm-up; the Trainer's fused AdamW), so its span candidates and entity
counts change over the epochs as in a real training. Needs a git checkout (for the baseline's code). Writes
benchmarks/results/joint_speed/conll04.json and the section "joint_speed" of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "joint_speed"
BASELINE_REVISION = "e6cfdd1"  # "Version 0.5.0", the code the issue measured
OLD_SWITCHES = {"ner_head": "bio_crf", "relation_context": False, "casing_features": False, "char_features": False}
# name -> (code: None for this checkout, else the baseline revision's; config switches)
SYSTEMS = {"default": (None, {}), "0.5 default": (None, OLD_SWITCHES), "0.5.0's code": ("baseline", {})}
DEFAULT, OLD, BASELINE = SYSTEMS
BATCH = 8
PREDICT_BATCH = 16
PREDICT_SLICE = 3 * PREDICT_BATCH  # development texts per turn in prediction


def worker(connection, code: str, switches: dict, seed: int, epochs: int) -> None:
    """One system in a process of its own, with the package of `code` first on the path: builds the model and its
    training batches, then runs what the parent sends ("train", n steps; "predict", (first, stop) of the development
    texts in the order this system's pipeline runs a list; "stop"), answering seconds."""
    sys.path.insert(0, code)
    import random

    import datasets
    import torch
    from transformers import pipeline, set_seed

    import multiner
    from multiner import JointErDataCollator, JointErModel, JointErProcessor
    from multiner.readers import read_spert_json, words_to_text
    from multiner.training_core import head_optimizer

    train = [words_to_text(e) for e in read_spert_json(DATA / "conll04" / "train_triples.json")]
    dev = [words_to_text(e)["text"] for e in read_spert_json(DATA / "conll04" / "dev_triples.json")]
    set_seed(seed)
    model = JointErModel.from_encoder(
        entity_types=sorted({e["label"] for example in train for e in example["entities"]}),
        relation_types=sorted({r["type"] for example in train for r in example["relations"]}),
        overlapping_entities=False,
        **switches,
    )
    processor = JointErProcessor.from_model(model)
    data = datasets.Dataset.from_list(train)
    features = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    collate = JointErDataCollator.from_processor(processor)
    optimizer = head_optimizer(model, 5e-5, 1e-3, fused=True)  # the Trainer's default AdamW
    order = [index for _ in range(epochs) for index in random.Random(seed).sample(range(len(train)), len(train))]
    batches = [order[start : start + BATCH] for start in range(0, len(order), BATCH)]
    extract = pipeline("joint-er", model=model, processor=processor)
    # in the order this system's pipeline runs a list (0.5.0's: by characters; since 0.8.2: by tokens), so that a
    # slice of whole batches runs as the whole list would run it
    lengths = extract._token_counts(dev) if hasattr(extract, "_token_counts") else list(map(len, dev))
    dev = [dev[index] for index in sorted(range(len(dev)), key=lengths.__getitem__)]
    outside = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("encoder."))
    connection.send(
        {
            "package": str(Path(multiner.__file__).parent),
            "parameters_outside_encoder": outside,
            "steps": len(batches),
            "train_sentences": len(order),
            "dev_sentences": len(dev),
        }
    )
    done = 0
    while True:
        command, argument = connection.recv()
        if command == "stop":
            return
        started = time.perf_counter()
        if command == "train":
            model.train()
            for batch in batches[done : done + argument]:
                model(**collate([features[index] for index in batch])).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            done += argument
        else:
            model.eval()
            with torch.inference_mode():
                extract(dev[slice(*argument)], batch_size=PREDICT_BATCH)
        connection.send(time.perf_counter() - started)


def baseline_code(revision: str, folder: Path) -> Path:
    """The package as it was at `revision` (`git archive`), unpacked under `folder`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "multiner"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def measure(epochs: int, chunk: int, predict_rounds: int, seed: int, revision: str) -> dict:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        codes = {None: str(ROOT), "baseline": str(baseline_code(revision, Path(folder)))}
        connections, processes, built = {}, [], {}
        for name, (code, switches) in SYSTEMS.items():
            connections[name], child = context.Pipe()
            process = context.Process(target=worker, args=(child, codes[code], switches, seed, epochs))
            process.start()
            processes.append(process)
            built[name] = connections[name].recv()  # one build at a time, nothing else running
            if not built[name]["package"].startswith(codes[code]):  # another copy of the package came first
                raise RuntimeError(
                    f"{name!r} imported multiner from {built[name]['package']}, not from {codes[code]}."
                )

        def in_turn(command: str, argument, turn: int) -> dict[str, float]:
            names = list(SYSTEMS)[turn % len(SYSTEMS) :] + list(SYSTEMS)[: turn % len(SYSTEMS)]
            seconds = {}
            for name in names:
                connections[name].send((command, argument))
                seconds[name] = connections[name].recv()
            return seconds

        train_seconds = {name: [] for name in SYSTEMS}
        for turn in range(-(-built[DEFAULT]["steps"] // chunk)):  # chunks, the last one maybe shorter
            for name, seconds in in_turn("train", chunk, turn).items():
                train_seconds[name].append(seconds)
        in_turn("predict", (0, PREDICT_BATCH), 0)  # warm-up
        # a round is every slice, each taken in turn: the systems run the same texts seconds apart
        dev = built[DEFAULT]["dev_sentences"]
        slices = [(first, first + PREDICT_SLICE) for first in range(0, dev, PREDICT_SLICE)]
        predict_seconds = {name: [0.0] * predict_rounds for name in SYSTEMS}
        for round_ in range(predict_rounds):
            for turn, texts in enumerate(slices):
                for name, seconds in in_turn("predict", texts, round_ * len(slices) + turn).items():
                    predict_seconds[name][round_] += seconds
        for connection in connections.values():
            connection.send(("stop", None))
        for process in processes:
            process.join()
    sentences = built[DEFAULT]["train_sentences"]
    ratios = {
        f"{DEFAULT} / {other}": [round(a / b, 3) for a, b in zip(train_seconds[DEFAULT], train_seconds[other])]
        for other in (BASELINE, OLD)
    }
    return {
        "dataset": "conll04",
        "epochs": epochs,
        "chunk_steps": chunk,
        "train_sentences": sentences,
        "dev_sentences": dev,
        "baseline_revision": revision,
        "systems": {
            name: {"code": revision if code else "this checkout", "switches": switches}
            for name, (code, switches) in SYSTEMS.items()
        },
        "train_seconds": {name: round(sum(times), 1) for name, times in train_seconds.items()},
        "train_sentences_per_second": {
            name: round(sentences / sum(times), 2) for name, times in train_seconds.items()
        },
        "train_chunk_seconds": {name: [round(t, 2) for t in times] for name, times in train_seconds.items()},
        "train_chunk_ratios": ratios,
        "predict_batch": PREDICT_BATCH,
        "predict_slice_texts": PREDICT_SLICE,
        "predict_round_seconds": {name: [round(t, 3) for t in times] for name, times in predict_seconds.items()},
        "predict_round_ratios": {
            f"{DEFAULT} / {other}": [round(a / b, 3) for a, b in zip(predict_seconds[DEFAULT], predict_seconds[other])]
            for other in (BASELINE, OLD)
        },
        "predict_sentences_per_second": {
            name: round(dev * len(times) / sum(times), 1) for name, times in predict_seconds.items()
        },
        "parameters_outside_encoder": {name: built[name]["parameters_outside_encoder"] for name in SYSTEMS},
        **provenance(),
    }


def report(result: dict) -> str:
    seconds, predict = result["train_seconds"], result["predict_sentences_per_second"]
    rows = [
        "| system | code | train s | train sentences/s | predict s (all rounds) | predict sentences/s | parameters "
        "outside the encoder |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {system['code']} | {seconds[name]} | {result['train_sentences_per_second'][name]} | "
            f"{sum(result['predict_round_seconds'][name]):.1f} | {predict[name]} | "
            f"{result['parameters_outside_encoder'][name]:,} |"
            for name, system in result["systems"].items()
        ),
    ]
    comparisons = []
    for other in (BASELINE, OLD):
        ratios = result["train_chunk_ratios"][f"{DEFAULT} / {other}"]
        rounds = result["predict_round_ratios"][f"{DEFAULT} / {other}"]
        comparisons.append(
            f"- Default against {other}: training time **{seconds[DEFAULT] / seconds[other]:.3f}** over the run "
            f"(per chunk {min(ratios):.3f}–{max(ratios):.3f}, median {statistics.median(ratios):.3f}); prediction "
            f"time **{predict[other] / predict[DEFAULT]:.3f}** over all rounds (per round {min(rounds):.3f}–"
            f"{max(rounds):.3f}, median {statistics.median(rounds):.3f}; {sum(r <= 1 for r in rounds)} of "
            f"{len(rounds)} rounds at most 1)."
        )
    return "\n".join(
        [
            "## Joint ER: the default's speed beside 0.5's, in one run (issue: the seed's full token representation)",
            "",
            f"CoNLL04 training, {result['epochs']} epochs ({result['train_sentences']} sentences) of batches of "
            f"{BATCH}, every system on the same batches, each in a process of its own, chunks of "
            f"{result['chunk_steps']} steps taken in turn (the order rotating); then the {result['dev_sentences']} "
            f"development texts through each pipeline (batch {result['predict_batch']}, in the order each system's "
            f"pipeline runs a list), {len(result['predict_round_seconds'][DEFAULT])} rounds, each system taking "
            f"{result['predict_slice_texts']} texts in turn (the order rotating). "
            f'"0.5.0\'s code" is the package at {result["baseline_revision"]} (version 0.5.0, what the issue '
            f'measured) with its own default; "0.5 default" is that default\'s switches in this code. '
            f"{result['date']}.",
            "",
            *rows,
            "",
            *comparisons,
            "",
            f"Command: `{result['command']}`. Machine: {result['machine']}. Record "
            "`benchmarks/results/joint_speed/conll04.json`.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=20, help="training steps per system before the next one's turn")
    parser.add_argument("--predict_rounds", type=int, default=10, help="passes over the development texts")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--baseline_revision", default=BASELINE_REVISION, help="git revision of the baseline's code")
    parser.add_argument("--report", action="store_true", help="only rewrite the section from the saved record")
    args = parser.parse_args()
    path = RESULTS / "conll04.json"
    if args.report:
        result = json.loads(path.read_text())
    else:
        result = measure(args.epochs, args.chunk, args.predict_rounds, args.seed, args.baseline_revision)
        write_result(path, result, echo=True)
    write_section("joint_speed", report(result))


if __name__ == "__main__":
    main()
