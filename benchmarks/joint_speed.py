"""Training and prediction speed of the joint family's default beside 0.5's default (BIO-CRF, no word features, no
pair context), measured in one run: both models train on the same CoNLL04 batches in the same order, in alternating
chunks of steps, so that a change of the machine's speed during the run falls on both; then each predicts the
development texts through the pipeline, alternating again. Sentences per second, and the ratio per chunk.

    python benchmarks/joint_speed.py [--epochs 2] [--chunk 20] [--predict_rounds 3]

Each model starts from the packaged encoder (the same seed), trains with the recipe's batch of 8 and its two rates
(5e-5 encoder, 1e-3 the rest; constant, no warm-up; the Trainer's fused AdamW), so its span candidates and entity
counts change over the epochs as in a real training. Writes benchmarks/results/joint_speed/conll04.json and the
section "joint_speed" of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, write_result, write_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "joint_speed"
# 0.5's default against today's: the switches that differ (every other setting is the config's default)
SYSTEMS = {
    "default": {},
    "0.5 default": {
        "ner_head": "bio_crf",
        "relation_context": False,
        "casing_features": False,
        "char_features": False,
    },
}
DEFAULT, OLD = SYSTEMS


def build(kwargs: dict, examples: list[dict], seed: int):
    """A new model with `kwargs`, its processor, and the examples preprocessed for it."""
    import datasets
    from transformers import set_seed

    from multiner import JointErModel, JointErProcessor

    set_seed(seed)
    entity_types = sorted({e["label"] for example in examples for e in example["entities"]})
    relation_types = sorted({r["type"] for example in examples for r in example["relations"]})
    model = JointErModel.from_encoder(
        entity_types=entity_types, relation_types=relation_types, overlapping_entities=False, **kwargs
    )
    processor = JointErProcessor.from_model(model)
    data = datasets.Dataset.from_list(examples)
    features = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    return model, processor, features


def measure(epochs: int, chunk: int, predict_rounds: int, seed: int) -> dict:
    import random

    import torch
    from transformers import pipeline

    from multiner import JointErDataCollator
    from multiner.readers import read_spert_json, words_to_text
    from multiner.training_core import head_optimizer

    train = [words_to_text(e) for e in read_spert_json(DATA / "conll04" / "train_triples.json")]
    dev = [words_to_text(e)["text"] for e in read_spert_json(DATA / "conll04" / "dev_triples.json")]
    runs = {}
    for name, kwargs in SYSTEMS.items():
        model, processor, features = build(kwargs, train, seed)
        optimizer = head_optimizer(model, 5e-5, 1e-3, fused=True)  # the Trainer's default AdamW
        collate = JointErDataCollator.from_processor(processor)
        runs[name] = {
            "model": model.train(),
            "processor": processor,
            "features": features,
            "optimizer": optimizer,
            "collate": collate,
        }
    order = [index for _ in range(epochs) for index in random.Random(seed).sample(range(len(train)), len(train))]
    batches = [order[start : start + 8] for start in range(0, len(order), 8)]
    train_seconds = {name: [] for name in runs}
    for first in range(0, len(batches), chunk):
        for name, run in runs.items():
            model, optimizer, collate = run["model"], run["optimizer"], run["collate"]
            started = time.perf_counter()
            for batch in batches[first : first + chunk]:
                loss = model(**collate([run["features"][index] for index in batch])).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            train_seconds[name].append(time.perf_counter() - started)
    predict_seconds = {name: [] for name in runs}
    with torch.inference_mode():
        extract = {
            name: pipeline("joint-er", model=run["model"].eval(), processor=run["processor"])
            for name, run in runs.items()
        }
        for name in runs:  # warm-up
            extract[name](dev[:16], batch_size=16)
        for _ in range(predict_rounds):
            for name in runs:
                started = time.perf_counter()
                extract[name](dev, batch_size=16)
                predict_seconds[name].append(time.perf_counter() - started)
    sentences = [len(batch) for batch in batches]
    chunk_sentences = [sum(sentences[first : first + chunk]) for first in range(0, len(batches), chunk)]
    return {
        "dataset": "conll04",
        "epochs": epochs,
        "chunk_steps": chunk,
        "train_sentences": sum(sentences),
        "dev_sentences": len(dev),
        "train_seconds": {name: round(sum(times), 1) for name, times in train_seconds.items()},
        "train_sentences_per_second": {
            name: round(sum(sentences) / sum(times), 2) for name, times in train_seconds.items()
        },
        "train_chunk_ratios": [round(a / b, 3) for a, b in zip(train_seconds[DEFAULT], train_seconds[OLD])],
        "train_chunk_sentences": chunk_sentences,
        "predict_seconds": {name: [round(t, 2) for t in times] for name, times in predict_seconds.items()},
        "predict_sentences_per_second": {
            name: round(len(dev) / statistics.median(times), 1) for name, times in predict_seconds.items()
        },
        "parameters_outside_encoder": {
            name: sum(p.numel() for n, p in run["model"].named_parameters() if not n.startswith("encoder."))
            for name, run in runs.items()
        },
        "systems": SYSTEMS,
        **provenance(),
    }


def report(result: dict) -> str:
    ratios = result["train_chunk_ratios"]
    train_ratio = result["train_seconds"][DEFAULT] / result["train_seconds"][OLD]
    predict = result["predict_sentences_per_second"]
    rows = [
        "| system | train s | train sentences/s | predict sentences/s (median of rounds) | parameters outside the "
        "encoder |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {result['train_seconds'][name]} | {result['train_sentences_per_second'][name]} | "
            f"{predict[name]} | {result['parameters_outside_encoder'][name]:,} |"
            for name in SYSTEMS
        ),
    ]
    return "\n".join(
        [
            "## Joint ER: the default's speed beside 0.5's, in one run (issue: the seed's full token representation)",
            "",
            f"CoNLL04 training, {result['epochs']} epochs ({result['train_sentences']} sentences) of batches of 8, "
            f"both models on the same batches in alternating chunks of {result['chunk_steps']} steps; then the "
            f"{result['dev_sentences']} development texts through each pipeline, alternating, "
            f"{len(result['predict_seconds'][DEFAULT])} rounds. {result['date']}.",
            "",
            *rows,
            "",
            f"Training, default / 0.5's: **{train_ratio:.3f}** over the run; per chunk {min(ratios):.3f}–"
            f"{max(ratios):.3f} (median {statistics.median(ratios):.3f}). Prediction, sentences/s default / 0.5's: "
            f"**{predict[DEFAULT] / predict[OLD]:.3f}** (rounds, s: default "
            f"{', '.join(map(str, result['predict_seconds'][DEFAULT]))}; 0.5's "
            f"{', '.join(map(str, result['predict_seconds'][OLD]))}).",
            "",
            f"Command: `{result['command']}`. Machine: {result['machine']}. Record "
            "`benchmarks/results/joint_speed/conll04.json`.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=20, help="training steps per system before switching")
    parser.add_argument("--predict_rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--report", action="store_true", help="only rewrite the section from the saved record")
    args = parser.parse_args()
    path = RESULTS / "conll04.json"
    if args.report:
        result = json.loads(path.read_text())
    else:
        result = measure(args.epochs, args.chunk, args.predict_rounds, args.seed)
        write_result(path, result, echo=True)
    write_section("joint_speed", report(result))


if __name__ == "__main__":
    main()
