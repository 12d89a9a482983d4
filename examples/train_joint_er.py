"""Train a joint entity and relation extraction model (Crone, 2020) with the stock Trainer, then score it on a
validation file through the pipeline, on raw text.

    python examples/train_joint_er.py --train_file ../shared/data/conll04/train_triples.json \
        --validation_file ../shared/data/conll04/dev_triples.json --output_dir joint-er-conll04

    # ADE, fold 0 of the 10-fold protocol, span head (overlapping entities kept), 3 epochs (~10 min on 2 cores)
    python examples/train_joint_er.py --ade_folder ../shared/data/ade --ade_fold 0 --ner_head span --epochs 3 \
        --output_dir ade0

Inputs: SpERT json (`--format spert`, CoNLL04 and ADE) or raw-text jsonlines (`--format jsonl`: {"text",
"entities": [{"start", "end", "label"}], "relations": [{"head", "tail", "type"}]}). Runs under `accelerate launch`
as any Trainer script does. Writes the model folder (Hub-ready: model, processor, code, card) and `results.json`
(the command, scores, training time, parameter counts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import datasets
import torch
from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup, pipeline, set_seed

import multiner
from multiner import ABLATIONS, JointErCardData, JointErDataCollator, JointErModel, JointErProcessor
from multiner.evaluation import format_relation_scores, relation_scores
from multiner.readers import (
    ade_fold,
    read_relation_jsonl,
    read_spert_json,
    remove_overlapping_entities,
    words_to_text,
)
from multiner.training_core import hold_out_last
from multiner.training_joint_er import calibrate_joint_thresholds

READERS = {"spert": read_spert_json, "jsonl": read_relation_jsonl}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--train_file")
    data.add_argument("--validation_file")
    data.add_argument("--format", choices=sorted(READERS), default="spert")
    data.add_argument("--ade_folder", help="ADE folder: train on ade_full.json less fold --ade_fold, test on the fold")
    data.add_argument("--ade_fold", type=int, default=0)
    data.add_argument("--max_train_examples", type=int, help="train on the first N examples only")
    data.add_argument(
        "--remove_overlaps",
        action="store_true",
        help="drop overlapping entities (longer kept, their relations dropped) from train and validation, as the "
        "paper did for ADE; implied by the BIO head for training (the processor counts them either way)",
    )
    model = parser.add_argument_group("model (every JointErConfig field not listed keeps its default)")
    model.add_argument("--encoder", help="encoder folder or Hub name (default: the packaged all-MiniLM-L6-v2)")
    model.add_argument("--ner_head", choices=["bio_crf", "span"], default="bio_crf")
    model.add_argument("--freeze_encoder", action="store_true")
    model.add_argument("--ablation", choices=sorted(ABLATIONS), default="full")
    model.add_argument("--rnn_type", choices=["lstm", "gru"], default="lstm")
    model.add_argument("--num_shared_layers", type=int)
    model.add_argument("--num_ner_layers", type=int)
    model.add_argument("--num_re_layers", type=int)
    model.add_argument("--relation_loss_weight", type=float, default=5.0)
    model.add_argument(
        "--positive_weight",
        type=float,
        help="weight of gold spans (span head) and gold relations in the binary losses (default: the config's)",
    )
    model.add_argument("--symmetric_relations", action="store_true", help="the paper's plain DistMult scorer")
    training = parser.add_argument_group("training")
    training.add_argument("--output_dir", required=True)
    training.add_argument("--epochs", type=float, default=20)
    training.add_argument("--batch_size", type=int, default=8)
    training.add_argument("--learning_rate", type=float, default=1e-3, help="BiRNN layers and heads")
    training.add_argument("--encoder_learning_rate", type=float, default=5e-5, help="the encoder, when fine-tuned")
    training.add_argument("--warmup_ratio", type=float, default=0.1)
    training.add_argument("--seed", type=int, default=42)
    training.add_argument(
        "--calibration_fraction",
        type=float,
        default=None,
        help="hold out the last fraction of the training examples and choose the entity (span head) and relation "
        "thresholds on them after training; 0 keeps the config's 0.5. Default: 0.1 with the span head (it helped "
        "it on ADE folds 0-2 and CoNLL04), 0 with the BIO head (it hurt it on CoNLL04; BENCHMARKS.md)",
    )
    args = parser.parse_args(argv)
    if args.calibration_fraction is None:
        args.calibration_fraction = 0.1 if args.ner_head == "span" else 0.0
    if not args.ade_folder and not (args.train_file and args.validation_file):
        parser.error("give --train_file and --validation_file, or --ade_folder (and --ade_fold)")
    return args


def load_data(args: argparse.Namespace) -> tuple[list[dict], list[dict], dict]:
    """Train and validation examples as raw text, and what was removed from them."""
    if args.ade_folder:
        train, validation = ade_fold(args.ade_folder, args.ade_fold)
    else:
        train, validation = READERS[args.format](args.train_file), READERS[args.format](args.validation_file)
    if args.max_train_examples:
        train = train[: args.max_train_examples]
    removed = {}
    if args.remove_overlaps:
        train, removed["train"] = remove_overlapping_entities(train)
        validation, removed["validation"] = remove_overlapping_entities(validation)
    to_text = (lambda e: e) if args.format == "jsonl" and not args.ade_folder else words_to_text
    return [to_text(e) for e in train], [to_text(e) for e in validation], removed


def types_of(examples: list[dict]) -> tuple[list[str], list[str]]:
    entity_types = sorted({e["label"] for example in examples for e in example["entities"]})
    relation_types = sorted({r["type"] for example in examples for r in example.get("relations", [])})
    return entity_types, relation_types


def has_overlaps(examples: list[dict]) -> bool:
    """Whether any example has two overlapping (or nested) entities."""
    return remove_overlapping_entities(examples)[1]["entities"] > 0


def optimizer_and_schedule(model: JointErModel, args: argparse.Namespace, steps: int):
    """AdamW with one learning rate for the encoder and another for everything trained from scratch."""
    encoder = [p for name, p in model.named_parameters() if name.startswith("encoder.") and p.requires_grad]
    rest = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    groups = [{"params": rest, "lr": args.learning_rate}]
    if encoder:
        groups.append({"params": encoder, "lr": args.encoder_learning_rate})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * steps), steps)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    set_seed(args.seed)
    train, validation, removed = load_data(args)
    held_out = []
    if args.calibration_fraction:
        train, held_out = hold_out_last(train, args.calibration_fraction)
    entity_types, relation_types = types_of(train)
    # the span head keeps overlapping predictions only when the training data has overlapping entities
    overlapping = has_overlaps(train)
    if args.ner_head == "span":
        print(f"span head: overlapping entities {'kept' if overlapping else 'resolved (flat data)'}")
    layers = {
        name: getattr(args, name)
        for name in ("num_shared_layers", "num_ner_layers", "num_re_layers")
        if getattr(args, name) is not None
    }
    model = JointErModel.from_encoder(
        args.encoder,
        entity_types=entity_types,
        relation_types=relation_types,
        ner_head=args.ner_head,
        overlapping_entities=overlapping,
        freeze_encoder=args.freeze_encoder,
        rnn_type=args.rnn_type,
        relation_loss_weight=args.relation_loss_weight,
        asymmetric_relations=not args.symmetric_relations,
        **({} if args.positive_weight is None else {"positive_weight": args.positive_weight}),
        **{**ABLATIONS[args.ablation], **layers},
    )
    processor = JointErProcessor.from_model(model)
    data = datasets.Dataset.from_list(train)
    features = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    unrepresentable = dict(processor.count_unrepresentable(features))
    print(f"{len(train)} training examples, {len(features)} windows; left out: {unrepresentable or 'nothing'}")
    if removed:
        print(f"overlapping entities removed before training: { ({k: dict(v) for k, v in removed.items()}) }")

    steps = int(len(features) / args.batch_size + 0.999) * int(args.epochs + 0.999)
    training_args = TrainingArguments(
        args.output_dir,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        seed=args.seed,
        save_strategy="no",
        logging_steps=50,
        report_to=[],
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=features,
        processing_class=processor,
        data_collator=JointErDataCollator.from_processor(processor),
        optimizers=optimizer_and_schedule(model, args, steps),
    )
    started = time.time()
    trainer.train()
    train_seconds = time.time() - started

    extract = pipeline("joint-er", model=model.eval(), processor=processor)
    calibration = calibrate_joint_thresholds(extract, held_out) if held_out else None
    if calibration:
        print(
            f"calibrated on {len(held_out)} held-out examples: entity threshold {calibration.entity_threshold}, "
            f"relation threshold {calibration.relation_threshold}" + "".join(f"; {r}" for r in calibration.reasons)
        )
    started = time.time()
    predicted = extract([example["text"] for example in validation], batch_size=16)
    predict_seconds = time.time() - started
    scores = relation_scores(validation, predicted, entity_types, relation_types)
    print(format_relation_scores(scores))

    card = JointErCardData(
        model_id=args.output_dir,
        datasets=[Path(args.ade_folder or args.train_file).parent.name],
        hyperparameters={name: value for name, value in vars(args).items() if value is not None},
        eval_results={Path(args.ade_folder or args.validation_file).stem: scores},
    )
    extract.save_pretrained(args.output_dir, card_data=card)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    results = {
        "command": "python " + " ".join(sys.argv if argv is None else ["examples/train_joint_er.py", *argv]),
        "multiner": multiner.__version__,
        "scores": scores,
        "unrepresentable": unrepresentable,
        "removed_overlaps": {name: dict(counts) for name, counts in removed.items()},
        "train_examples": len(train),
        "calibration": calibration
        and {
            "held_out_examples": len(held_out),
            "entity_threshold": calibration.entity_threshold,
            "relation_threshold": calibration.relation_threshold,
            "reasons": calibration.reasons,
        },
        "train_seconds": round(train_seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "validation_examples": len(validation),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": trainable,
        "trainable_outside_encoder": sum(
            p.numel() for name, p in model.named_parameters() if not name.startswith("encoder.")
        ),
    }
    Path(args.output_dir, "results.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
