"""Train a seq2seq pointer NER model (flat, nested and discontinuous entities) with the stock Trainer, then score it
on a validation file through the pipeline, on raw text, greedy and with beam search.

    python examples/train_seq2seq.py --train_file ../shared/data/cadec/train.txt \
        --validation_file ../shared/data/cadec/dev.txt --output_dir seq2seq-cadec

    # nested (GENIA) or flat (CoNLL-2003) data train the same model
    python examples/train_seq2seq.py --format jsonlines --train_file ../shared/data/genia/train.jsonlines \
        --validation_file ../shared/data/genia/dev.jsonlines --max_train_examples 3000 --output_dir seq2seq-genia

seeds/001's multi-task model: add --relation_prediction, --token_relation_attention, --entity_type_attention (each
alone or together: the paper's ablation is four runs of this script); the entity base of type attention is the
training set's own entities (counted per type) unless --gazetteer gives a file (`type<TAB>name[<TAB>count]` or json).

Inputs: the discontinuous format (`--format discontinuous`: a sentence line, then `start,end[,start,end...] TYPE|...`
with inclusive word indices, then a blank line; CADEC), CoNLL columns (`--format conll`) or word-span jsonlines
(`--format jsonlines`, GENIA). Words are joined by spaces into raw text. Runs under `accelerate launch` as any Trainer
script does. Writes the model folder (Hub-ready: model, processor, code, card) and `results.json` (the command,
scores of all and of discontinuous entities, training and generation speed, parameter counts).
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
from multiner import Seq2SeqNerCardData, Seq2SeqNerDataCollator, Seq2SeqNerModel, Seq2SeqNerProcessor
from multiner.evaluation import fragment_scores
from multiner.readers import (
    entity_base_of,
    entity_types_of,
    read_conll,
    read_discontinuous,
    read_gazetteer,
    read_word_span_jsonl,
    words_to_text,
)

READERS = {"discontinuous": read_discontinuous, "conll": read_conll, "jsonlines": read_word_span_jsonl}
# Parameters that start untrained: the pointer MLP, type and special embeddings, a warm-started decoder's
# cross-attention, the word-pair grid and the type-attention MLP. They take --learning_rate; the pretrained backbone
# takes --backbone_learning_rate.
NEW_PARAMETERS = (
    "pointer_mlp.",
    "type_embeddings.",
    "special_embeddings.",
    "crossattention.",
    "relation_grid.",
    "type_attention.",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--train_file", required=True)
    data.add_argument("--validation_file", required=True)
    data.add_argument("--format", choices=sorted(READERS), default="discontinuous")
    data.add_argument("--max_train_examples", type=int, help="train on the first N examples only")
    data.add_argument("--max_validation_examples", type=int, help="score the first N validation examples only")
    model = parser.add_argument_group("model (every Seq2SeqNerConfig field not listed keeps its default)")
    model.add_argument("--backbone", help="encoder (warm-started pair) or encoder-decoder folder; default MiniLM")
    model.add_argument("--target_mode", choices=["all_words", "fragment_bounds"], default="all_words")
    model.add_argument("--share_encoder_decoder", action="store_true")
    model.add_argument("--relation_prediction", action="store_true", help="seeds/001's word-pair task (RP)")
    model.add_argument("--token_relation_attention", action="store_true", help="seeds/001's TRA")
    model.add_argument("--entity_type_attention", action="store_true", help="seeds/001's ETA")
    model.add_argument("--relation_loss_weight", type=float, default=0.3, help="w in L_entity + w * L_relation")
    model.add_argument("--relation_size", type=int, default=256, help="word-pair grid size")
    model.add_argument("--gazetteer", help="entity base of type attention (default: the training entities)")
    training = parser.add_argument_group("training")
    training.add_argument("--output_dir", required=True)
    training.add_argument("--epochs", type=float, default=10)
    training.add_argument("--batch_size", type=int, default=16)
    training.add_argument("--learning_rate", type=float, default=1e-4, help="parameters that start untrained")
    training.add_argument("--backbone_learning_rate", type=float, default=5e-5, help="the pretrained backbone")
    training.add_argument("--warmup_ratio", type=float, default=0.1)
    training.add_argument("--seed", type=int, default=42)
    training.add_argument("--num_beams", type=int, nargs="+", default=[1, 4], help="scored with each (first: card)")
    return parser.parse_args(argv)


def optimizer_and_schedule(model: Seq2SeqNerModel, args: argparse.Namespace, steps: int):
    """AdamW with one learning rate for the pretrained backbone and another for what starts untrained."""
    parameters = dict(model.named_parameters())  # shared weights once
    new = [p for name, p in parameters.items() if any(part in name for part in NEW_PARAMETERS)]
    backbone = [p for name, p in parameters.items() if not any(part in name for part in NEW_PARAMETERS)]
    groups = [{"params": new, "lr": args.learning_rate}, {"params": backbone, "lr": args.backbone_learning_rate}]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * steps), steps)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    set_seed(args.seed)
    read = READERS[args.format]
    train = [words_to_text(example) for example in read(args.train_file)[: args.max_train_examples]]
    validation = [words_to_text(example) for example in read(args.validation_file)[: args.max_validation_examples]]
    entity_base = None
    if args.entity_type_attention:
        entity_base = read_gazetteer(args.gazetteer) if args.gazetteer else entity_base_of(train)
    model = Seq2SeqNerModel.from_encoder(
        args.backbone,
        entity_types=entity_types_of(train),
        target_mode=args.target_mode,
        share_encoder_decoder=args.share_encoder_decoder,
        relation_prediction=args.relation_prediction,
        token_relation_attention=args.token_relation_attention,
        entity_type_attention=args.entity_type_attention,
        relation_loss_weight=args.relation_loss_weight,
        relation_size=args.relation_size,
        entity_base=entity_base,
        # flat or nested data: generation writes contiguous entities only
        discontinuous=any(len(e.get("fragments", [e])) > 1 for example in train for e in example["entities"]),
    )
    processor = Seq2SeqNerProcessor.from_model(model)
    data = datasets.Dataset.from_list(train)
    features = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    unrepresentable = dict(processor.count_unrepresentable(features))
    print(f"{len(train)} training examples, {len(features)} windows; left out: {unrepresentable or 'nothing'}")

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
        data_collator=Seq2SeqNerDataCollator.from_processor(processor),
        optimizers=optimizer_and_schedule(model, args, steps),
    )
    started = time.time()
    trainer.train()
    train_seconds = time.time() - started

    extract = pipeline("seq2seq-ner", model=model.eval(), processor=processor)
    texts = [example["text"] for example in validation]
    evaluations = {}
    for num_beams in args.num_beams:
        started = time.time()
        predicted = extract(texts, batch_size=32, num_beams=num_beams)
        seconds = time.time() - started
        scores = fragment_scores(validation, predicted)
        evaluations[f"beams_{num_beams}"] = {"scores": scores, "sentences_per_second": round(len(texts) / seconds, 1)}
        print(
            f"num_beams={num_beams}: all F1 {100 * scores['all']['f1']:.2f} (P {100 * scores['all']['precision']:.2f}"
            f" R {100 * scores['all']['recall']:.2f}), discontinuous F1 {100 * scores['discontinuous']['f1']:.2f}; "
            f"{len(texts) / seconds:.1f} sentences/s"
        )

    card = Seq2SeqNerCardData(
        model_id=args.output_dir,
        datasets=[Path(args.train_file).parent.name],
        hyperparameters={name: value for name, value in vars(args).items() if value is not None},
        eval_results={Path(args.validation_file).stem: evaluations[f"beams_{args.num_beams[0]}"]["scores"]},
    )
    extract.save_pretrained(args.output_dir, card_data=card)
    results = {
        "command": "python " + " ".join(sys.argv if argv is None else ["examples/train_seq2seq.py", *argv]),
        "multiner": multiner.__version__,
        "evaluations": evaluations,
        "unrepresentable": unrepresentable,
        "train_examples": len(train),
        "validation_examples": len(validation),
        "train_seconds": round(train_seconds, 1),
        "train_sentences_per_second": round(len(train) * args.epochs / train_seconds, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    Path(args.output_dir, "results.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
