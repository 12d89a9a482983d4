"""The main job on the embedded default: fine-tune Multi-NER (packaged all-MiniLM-L6-v2 encoder) on the small
sample dataset shipped with the package, report strict span F1 on its held-out split, save the model, and print
the entities found in a few new sentences.

    python -m multiner.demo [--epochs 8] [--output_dir multiner-demo] [--encoder PATH]
"""

from __future__ import annotations

import argparse
import json
from importlib import resources

import datasets
import torch
from transformers import AutoModel, AutoProcessor, Trainer, TrainingArguments, set_seed

from . import MultiNerDataCollator, MultiNerModel, MultiNerProcessor
from .evaluation import MultiNerMetrics

ENTITY_TYPES = ["PER", "LOC", "ORG", "MISC"]
SENTENCES = [
    "Hannah Keller flew from Oslo to Lima on Tuesday.",
    "The Bank of Kenya fined Quillon Software.",
    "A Japanese team won the Coastal Cup in Seville.",
]


def sample_dataset(split: str) -> datasets.Dataset:
    """The packaged sample data: `train` (240 sentences) or `dev` (60), text with character-offset entities."""
    path = resources.files("multiner") / "data" / f"sample_{split}.jsonl"
    with path.open(encoding="utf-8") as lines:
        return datasets.Dataset.from_list([json.loads(line) for line in lines])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=8)
    parser.add_argument("--output_dir", default="multiner-demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", default=None, help="encoder folder or Hub name (default: the packaged MiniLM)")
    parser.add_argument("--span_loss_weight", type=float, default=0.1)
    parser.add_argument("--span_candidates", default="pred_and_gold", choices=["pred_and_gold", "all"])
    args = parser.parse_args(argv)

    set_seed(args.seed)
    model = MultiNerModel.from_encoder(
        args.encoder,
        entity_types=ENTITY_TYPES,
        span_loss_weight=args.span_loss_weight,
        span_candidates=args.span_candidates,
    )
    processor = MultiNerProcessor.from_model(model)
    train, dev = sample_dataset("train"), sample_dataset("dev")
    train = train.map(processor.preprocess, batched=True, remove_columns=train.column_names)
    dev = dev.map(processor.preprocess, batched=True, remove_columns=dev.column_names)
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=8,
        learning_rate=3e-4,
        warmup_steps=10,
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        seed=args.seed,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=dev,
        data_collator=MultiNerDataCollator.from_processor(processor),
        compute_metrics=MultiNerMetrics(ENTITY_TYPES),
    )
    trainer.train()
    metrics = trainer.evaluate()
    print(
        f"\nsample dev split: strict span F1 {metrics['eval_f1']:.3f} "
        f"(P {metrics['eval_precision']:.3f}, R {metrics['eval_recall']:.3f})"
    )

    trainer.save_model(args.output_dir)
    processor.save_pretrained(args.output_dir)
    model, processor = (
        AutoModel.from_pretrained(args.output_dir).eval(),
        AutoProcessor.from_pretrained(args.output_dir),
    )
    batch = processor(SENTENCES)
    with torch.no_grad():
        found = processor.decode(model(**batch), batch)
    print(f"\nsaved to {args.output_dir}; entities found by the reloaded model:")
    for sentence, entities in zip(SENTENCES, found):
        print(f"\n  {sentence}")
        for entity in entities:
            print(
                f"    {entity['entity_group']:<5} {entity['word']!r:<26} "
                f"[{entity['start']}:{entity['end']}]  {entity['score']:.2f}"
            )
    return metrics


if __name__ == "__main__":
    main()
