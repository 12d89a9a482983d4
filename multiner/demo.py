"""The main job on the embedded default: fine-tune Multi-NER (packaged all-MiniLM-L6-v2 encoder, packed query mode)
on the small sample dataset shipped with the package, its sentences alone and joined into short documents; report
strict span F1 on its held-out split, one sentence at a time and all of it as one text, through the pipeline; save
the model, reload it and print the entities found in a new paragraph.

    python -m multiner.demo [--epochs 8] [--output_dir multiner-demo] [--encoder PATH]
"""

from __future__ import annotations

import argparse

from transformers import Trainer, TrainingArguments, pipeline, set_seed

from . import MultiNerDataCollator, MultiNerModel, MultiNerProcessor
from .evaluation import span_scores
from .pipeline_multiner import MultiNerPipeline
from .readers import join_texts, sample_dataset

ENTITY_TYPES = ["PER", "LOC", "ORG", "MISC"]
PARAGRAPH = (
    "Hannah Keller flew from Oslo to Lima on Tuesday. The Bank of Kenya fined Quillon Software. "
    "A Japanese team won the Coastal Cup in Seville."
)


def strict_f1(ner: MultiNerPipeline, examples: list[dict]) -> float:
    """Strict span micro F1 of the pipeline on text examples."""
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in examples]
    found = ner([example["text"] for example in examples])
    predicted = [[(e["entity_group"], e["start"], e["end"]) for e in entities] for entities in found]
    return span_scores(gold, predicted, ENTITY_TYPES)["f1"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=8)
    parser.add_argument("--output_dir", default="multiner-demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", default=None, help="encoder folder or Hub name (default: the packaged MiniLM)")
    args = parser.parse_args(argv)

    set_seed(args.seed)
    model = MultiNerModel.from_encoder(args.encoder, entity_types=ENTITY_TYPES, query_mode="packed")
    processor = MultiNerProcessor.from_model(model)
    train = sample_dataset("train", documents=True, seed=args.seed)
    train = train.map(processor.preprocess, batched=True, remove_columns=train.column_names)
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=8,
        learning_rate=3e-4,
        warmup_steps=10,
        logging_steps=20,
        save_strategy="no",
        report_to=[],
        seed=args.seed,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        data_collator=MultiNerDataCollator.from_processor(processor),
        processing_class=processor,
    )
    trainer.train()
    trainer.save_model(args.output_dir)

    ner = pipeline("multi-ner", model=args.output_dir)  # reloaded from the saved folder
    dev = list(sample_dataset("dev"))
    metrics = {"sentence_f1": strict_f1(ner, dev), "document_f1": strict_f1(ner, [join_texts(dev)])}
    print(
        f"\nsample dev split (60 sentences): strict span F1 {metrics['sentence_f1']:.3f} one sentence at a time, "
        f"{metrics['document_f1']:.3f} all in one text"
    )
    print(f"\nsaved to {args.output_dir}; entities the reloaded model finds in\n  {PARAGRAPH}")
    for entity in ner(PARAGRAPH):
        print(
            f"    {entity['entity_group']:<5} {entity['word']!r:<26} "
            f"[{entity['start']}:{entity['end']}]  {entity['score']:.2f}"
        )
    return metrics


if __name__ == "__main__":
    main()
