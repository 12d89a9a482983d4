"""Fine-tune Multi-NER (or BERT-MRC) with the stock Trainer, in the style of transformers' run_ner.py.

Data: local CoNLL column files (IOB1/IOB2), word-span jsonlines (GENIA, nested), SpERT-style json (CoNLL04, ADE), or
a `datasets` Hub name with `tokens` and IOB `ner_tags` columns (needs Hub access). The command line is the other two
scripts': every TrainingArguments option, `--encoder`, `--learning_rate` for the pretrained encoder and
`--head_learning_rate` for the heads, query and type attention. Evaluates strict span P/R/F1 (per type and micro;
seqeval too with --flat), writes `results.json`, and saves the model, processor and model card to --output_dir.

    python examples/train.py --train_file ../shared/data/conll2003/eng.train \\
        --validation_file ../shared/data/conll2003/eng.testa --flat --output_dir runs/conll \\
        --num_train_epochs 1 --per_device_train_batch_size 8 --learning_rate 1e-4

    accelerate launch --multi_gpu --num_processes 2 examples/train.py ... --use_cpu   # 2 CPU processes (gloo)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import torch
from transformers import Trainer, set_seed

from multiner import (
    BERT_MRC,
    MultiNerCalibrationCallback,
    MultiNerCardCallback,
    MultiNerCardData,
    MultiNerConfig,
    MultiNerDataCollator,
    MultiNerModel,
    MultiNerProcessor,
)
from multiner.evaluation import flatten_scores, seqeval_scores
from multiner.ner_metric import as_metric_entities, load_ner_metric
from multiner.readers import (
    entity_types_of,
    iob_to_spans,
    read_conll,
    read_spert_json,
    read_word_span_jsonl,
    training_texts,
)
from multiner.training_core import EncoderArguments, parse_script_arguments, trainer_optimizer, write_results
from multiner.training_core import hold_out_last as hold_out_last_examples
from multiner.training_multiner import MultiNerMetrics, rarity_positive_weights

logger = logging.getLogger("multiner.train")
READERS = {"conll": read_conll, "jsonl": read_word_span_jsonl, "spert": read_spert_json}


@dataclass
class ModelArguments(EncoderArguments):
    bert_mrc: bool = field(
        default=False, metadata={"help": "The BERT-MRC configuration: shared heads, no type attention."}
    )
    type_attention: str = field(default=MultiNerConfig.type_attention, metadata={"help": "none, token or full."})
    query_mode: str = field(
        default=MultiNerConfig.query_mode,
        metadata={"help": "per_type (one sequence per type) or packed (all queries in one)."},
    )
    type_attention_heads: int = MultiNerConfig.type_attention_heads
    share_heads: bool = MultiNerConfig.share_heads
    shared_boundary_head: bool = field(
        default=True,
        metadata={
            "help": "Add one start/end head shared by every type to each type's own (learnt from all types). "
            "False: per-type heads only."
        },
    )
    span_candidates: str = field(default=MultiNerConfig.span_candidates, metadata={"help": "pred_and_gold or all."})
    span_features: str = field(
        default="interior", metadata={"help": "interior (ends, mean, width, veto) or boundaries (the two ends)."}
    )
    start_loss_weight: float = MultiNerConfig.start_loss_weight
    end_loss_weight: float = MultiNerConfig.end_loss_weight
    span_loss_weight: float = MultiNerConfig.span_loss_weight
    positive_weight: float = field(
        default=MultiNerConfig.positive_weight,
        metadata={"help": "Weight of gold starts, ends and spans in the binary losses (negatives: 1)."},
    )
    rarity_weights: bool = field(
        default=True,
        metadata={
            "help": "Give each type its own positive weight from its training count: --positive_weight for the most "
            "frequent type, times sqrt(most / count) for the others (rarity_positive_weights). False: one weight."
        },
    )
    max_span_length: int = MultiNerConfig.max_span_length
    head_dropout: float = MultiNerConfig.head_dropout
    casing_features: bool = field(
        default=True,
        metadata={"help": "Give the heads each word's casing class (the packaged encoder is uncased). False: off."},
    )
    char_features: bool = field(
        default=MultiNerConfig.char_features,
        metadata={"help": "Give the heads a character BiLSTM embedding of each word (seeds/003's; it sees the case)."},
    )


@dataclass
class DataArguments:
    train_file: str | None = None
    validation_file: str | None = None
    dataset_name: str | None = field(default=None, metadata={"help": "A datasets Hub name (tokens + ner_tags)."})
    data_format: str | None = field(default=None, metadata={"help": "conll, jsonl or spert; guessed from the name."})
    entity_types: list[str] | None = field(default=None, metadata={"help": "Default: every label in the data."})
    queries_file: str | None = field(default=None, metadata={"help": "JSON object: entity type -> query."})
    max_length: int = 256
    stride: int = 64
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    flat: bool = field(default=False, metadata={"help": "Flat decoding (non-overlapping entities) for evaluation."})
    threshold: float | None = field(
        default=None,
        metadata={"help": "Decision threshold for the final evaluation; default: the calibrated one (else 0.5)."},
    )
    calibration_fraction: float | None = field(
        default=None,
        metadata={
            "help": "Hold out the last fraction of the training examples, and choose the decision threshold on them "
            "when training ends (saved in the config; the pipeline's default); 0: train on every example, threshold "
            "0.5. Default: 0 with --flat (on flat data the held-out choice never helped on WNUT-16 and moved "
            "CoNLL-2003 by 0.4), 0.1 otherwise (nested GENIA: +2.5 to +3.5 F1)."
        },
    )
    dataset_label: str | None = field(default=None, metadata={"help": "Name of the data on the model card."})
    train_on: str = field(
        default="sentences",
        metadata={
            "help": "sentences: each training example alone; documents: runs of 2-8 consecutive examples of one "
            "document (CoNLL -DOCSTART- groups, else the file's order) joined by newlines into one text; both: the "
            "two together (about twice the training tokens)."
        },
    )


def load_examples(path: str | None, data_format: str | None) -> list[dict]:
    if path is None:
        return []
    if data_format is None:
        suffix = Path(path).suffix
        data_format = "jsonl" if suffix in (".jsonl", ".jsonlines") else "spert" if suffix == ".json" else "conll"
    if data_format not in READERS:
        raise ValueError(f"--data_format {data_format!r} is not one of {sorted(READERS)}.")
    return READERS[data_format](path)


def load_documents(path: str | None, data_format: str | None) -> list[list[dict]]:
    """Examples grouped into documents: the `-DOCSTART-` groups of a CoNLL file, else the whole file as one."""
    if path is None:
        return []
    suffix = Path(path).suffix
    if (data_format or ("conll" if suffix not in (".json", ".jsonl", ".jsonlines") else None)) == "conll":
        return read_conll(path, documents=True)
    return [load_examples(path, data_format)]


def first_examples(documents: list[list[dict]], count: int) -> list[list[dict]]:
    """The documents holding the first `count` examples (the last one cut)."""
    kept = []
    for document in documents:
        if count <= 0:
            break
        kept.append(document[:count])
        count -= len(kept[-1])
    return kept


def hold_out_last(documents: list[list[dict]], fraction: float) -> tuple[list[list[dict]], list[dict]]:
    """(documents without their last examples, those examples): the last `fraction` of all examples (at least one)
    are held out for calibrating the decision threshold."""
    kept, held_out = hold_out_last_examples([example for document in documents for example in document], fraction)
    return first_examples(documents, len(kept)), held_out


def load_hub_examples(name: str) -> tuple[list[dict], list[dict]]:
    hub = datasets.load_dataset(name)
    names = hub["train"].features["ner_tags"].feature.names

    def convert(split: str) -> list[dict]:
        return [
            {"tokens": row["tokens"], "entities": iob_to_spans([names[tag] for tag in row["ner_tags"]])}
            for row in hub[split]
        ]

    return convert("train"), convert("validation") if "validation" in hub else []


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, object]:
    model_args, data_args, training_args = parse_script_arguments((ModelArguments, DataArguments), argv)
    if data_args.calibration_fraction is None:
        data_args.calibration_fraction = 0.0 if data_args.flat else 0.1
    return model_args, data_args, training_args


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args = parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    set_seed(training_args.seed)

    if data_args.dataset_name:
        train_examples, eval_examples = load_hub_examples(data_args.dataset_name)
        train_documents = [train_examples]
    else:
        train_documents = load_documents(data_args.train_file, data_args.data_format)
        eval_examples = load_examples(data_args.validation_file, data_args.data_format)
    if data_args.max_train_samples is not None:
        train_documents = first_examples(train_documents, data_args.max_train_samples)
    held_out: list[dict] = []
    if training_args.do_train and data_args.calibration_fraction > 0:
        train_documents, held_out = hold_out_last(train_documents, data_args.calibration_fraction)
    train_examples = [example for document in train_documents for example in document]
    if not train_examples and training_args.do_train:
        raise ValueError("No training data: give --train_file or --dataset_name.")
    eval_examples = eval_examples[: data_args.max_eval_samples]
    entity_types = data_args.entity_types or entity_types_of(train_examples + held_out + eval_examples)
    queries = json.loads(Path(data_args.queries_file).read_text()) if data_args.queries_file else None

    switches = {
        name: getattr(model_args, name)
        for name in (
            "type_attention",
            "query_mode",
            "type_attention_heads",
            "share_heads",
            "shared_boundary_head",
            "span_candidates",
            "span_features",
            "start_loss_weight",
            "end_loss_weight",
            "span_loss_weight",
            "positive_weight",
            "max_span_length",
            "head_dropout",
            "casing_features",
            "char_features",
        )
    }
    if model_args.rarity_weights:
        switches["positive_weight"] = rarity_positive_weights(train_examples, entity_types, model_args.positive_weight)
    if model_args.bert_mrc:
        switches.update(BERT_MRC)
    model = MultiNerModel.from_encoder(model_args.encoder, entity_types=entity_types, **switches)
    # The processor reads the entity types, query mode and span length from the model's config.
    processor = MultiNerProcessor.from_model(
        model, queries=queries, max_length=data_args.max_length, stride=data_args.stride
    )

    def features(examples: list[dict]) -> datasets.Dataset | None:
        if not examples:
            return None
        rows = datasets.Dataset.from_list(examples)
        with training_args.main_process_first(desc="preprocess"):
            return rows.map(processor.preprocess, batched=True, remove_columns=rows.column_names)

    train_texts = training_texts(train_documents, data_args.train_on, training_args.seed)
    train_rows, eval_rows = features(train_texts), features(eval_examples)
    label = data_args.dataset_label or Path(data_args.train_file or data_args.dataset_name or "data").stem
    card = MultiNerCardCallback(processor, MultiNerCardData(datasets=[label]), eval_dataset_name=label)
    # calibration first, so the card and the saved config hold the calibrated threshold
    callbacks = [MultiNerCalibrationCallback(processor, held_out, flat=data_args.flat)] if held_out else []
    # evaluations during training: before calibration the model's threshold is 0.5
    metrics_threshold = model.config.threshold if data_args.threshold is None else data_args.threshold
    trainer = Trainer(
        model=model,
        args=training_args,
        optimizers=(trainer_optimizer(model, training_args, model_args.head_learning_rate), None),
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        data_collator=MultiNerDataCollator.from_processor(processor),
        compute_metrics=MultiNerMetrics(entity_types, threshold=metrics_threshold, flat=data_args.flat),
        callbacks=[*callbacks, card],
    )
    metrics: dict = {"world_size": training_args.world_size}
    logger.info("training on %d process(es), device %s", training_args.world_size, training_args.device)
    if training_args.do_train:
        result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
        metrics.update({f"train_{k}" if not k.startswith("train") else k: v for k, v in result.metrics.items()})
        if callbacks:
            calibration = callbacks[0].calibration
            metrics.update(calibration_examples=calibration.examples, decision_threshold=calibration.threshold)
        trainer.save_model()
        processor.save_pretrained(training_args.output_dir)
    if eval_examples and training_args.should_save:
        scores = evaluate_documents(model, processor, eval_examples, data_args, training_args)
        metrics.update({f"eval_{name}": value for name, value in flatten_scores(scores).items()})
        if data_args.flat:
            metrics.update({f"eval_seqeval_{k}": v for k, v in scores["seqeval"].items()})
        card.card_data.eval_results[label] = scores
        card.on_train_end(training_args, trainer.state, None, model=model)
        logger.info("strict span F1 on %s: %.4f", data_args.validation_file or "validation", scores["f1"])
    if training_args.should_save:
        write_results(training_args.output_dir, "examples/train.py", argv, metrics)
    return metrics


def evaluate_documents(model, processor, examples, data_args, training_args) -> dict:
    """Strict span scores on whole examples (windows merged back), as a user of the pipeline would get them."""
    model.eval()
    predicted = []
    batch_size = training_args.per_device_eval_batch_size
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            batch = processor(tokens=[example["tokens"] for example in chunk]).to(model.device)
            predicted += processor.decode(model(**batch), batch, threshold=data_args.threshold, flat=data_args.flat)
    gold = [[(e["label"], e["start"], e["end"]) for e in example["entities"]] for example in examples]
    found = [[(e["entity_group"], e["start"], e["end"]) for e in entities] for entities in predicted]
    scores = load_ner_metric("spans").compute(
        predictions=[as_metric_entities(entities) for entities in predicted],
        references=[as_metric_entities(example["entities"]) for example in examples],
        entity_types=processor.entity_types,
    )
    if data_args.flat:
        scores["seqeval"] = seqeval_scores([len(example["tokens"]) for example in examples], gold, found)
    return scores


if __name__ == "__main__":
    main()
