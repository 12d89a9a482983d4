"""Train a joint entity and relation extraction model (Crone, 2020) with the stock Trainer, then score it on a
validation file through the pipeline, on raw text.

    python examples/train_joint_er.py --train_file ../shared/data/conll04/train_triples.json \
        --validation_file ../shared/data/conll04/dev_triples.json --output_dir joint-er-conll04

    # ADE, fold 0 of the 10-fold protocol, span head (overlapping entities kept), 3 epochs (~10 min on 2 cores)
    python examples/train_joint_er.py --ade_folder ../shared/data/ade --ade_fold 0 --ner_head span \
        --num_train_epochs 3 --output_dir ade0

Inputs: SpERT json (`--data_format spert`, CoNLL04 and ADE) or raw-text jsonlines (`--data_format jsonl`: {"text",
"entities": [{"start", "end", "label"}], "relations": [{"head", "tail", "type"}]}). The command line is the other two
scripts': every TrainingArguments option, `--encoder`, `--learning_rate` for the pretrained encoder and
`--head_learning_rate` for the BiRNN layers and heads. Runs under `accelerate launch` as any Trainer script does.
Writes the model folder (Hub-ready: model, processor, code, card) and `results.json` (the command, scores, the
relation scores with the gold entities given, training time, parameter counts). Word-format data (SpERT json, ADE) is
scored twice: on its words joined into text (`scores`), and on the dataset's own words (`word_scores`, the pipeline
with `is_split_into_words=True`: the papers' protocol, where a word such as "Boise." is one unit). seeds/003's word
features beside the encoder's states are on by default (`--casing_features False`, `--char_features False` turn them
off).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import pipeline, set_seed

from multiner import ABLATIONS, JointErCardData, JointErConfig, JointErDataCollator, JointErModel, JointErProcessor
from multiner.evaluation import format_relation_scores
from multiner.ner_metric import as_metric_example, headline, load_ner_metric
from multiner.readers import (
    ade_fold,
    read_relation_jsonl,
    read_spert_json,
    remove_overlapping_entities,
    words_to_text,
)
from multiner.training_core import (
    HYPERPARAMETERS,
    SCRIPT_DEFAULTS,
    EncoderArguments,
    epoch_scores_callback,
    hold_out_last,
    parse_script_arguments,
    train_on_examples,
    write_results,
)
from multiner.training_joint_er import calibrate_joint_thresholds, oracle_relation_scores

READERS = {"spert": read_spert_json, "jsonl": read_relation_jsonl}
# The family's defaults for the command line (each one an option it can change).
TRAINING_DEFAULTS = {
    **SCRIPT_DEFAULTS,
    "num_train_epochs": 20,
    "per_device_train_batch_size": 8,
    "learning_rate": 5e-5,
    "per_device_eval_batch_size": 16,  # texts per forward pass of the validation scoring
}


@dataclass
class ModelArguments(EncoderArguments):
    """Every JointErConfig field not listed keeps its default."""

    ner_head: str = field(default=JointErConfig.ner_head, metadata={"help": "start_end_span, bio_crf or span."})
    freeze_encoder: bool = JointErConfig.freeze_encoder
    ablation: str = field(default="full", metadata={"help": f"One of {sorted(ABLATIONS)}."})
    rnn_type: str = field(default=JointErConfig.rnn_type, metadata={"help": "lstm or gru."})
    num_shared_layers: int | None = None
    num_ner_layers: int | None = None
    num_re_layers: int | None = None
    relation_loss_weight: float = JointErConfig.relation_loss_weight
    positive_weight: float | None = field(
        default=None,
        metadata={"help": "Weight of gold spans (span head) and relations in the binary losses (default: config's)."},
    )
    symmetric_relations: bool = field(default=False, metadata={"help": "The paper's plain DistMult scorer."})
    relation_context: bool = field(
        default=True,
        metadata={"help": "Also score pairs by both entities' and the between-words' mean states (as SpERT does)."},
    )
    casing_features: bool = field(
        default=True, metadata={"help": "seeds/003's one-hot casing vector per word (the encoder is uncased)."}
    )
    char_features: bool = field(default=True, metadata={"help": "seeds/003's character-level BiLSTM word vector."})
    shared_boundary_head: bool = field(
        default=True,
        metadata={
            "help": "start_end_span head: add one start/end head shared by every type to each type's own (learnt "
            "from all types). False: per-type heads only."
        },
    )


@dataclass
class DataArguments:
    train_file: str | None = None
    validation_file: str | None = None
    data_format: str = field(default="spert", metadata={"help": "spert or jsonl."})
    ade_folder: str | None = field(
        default=None, metadata={"help": "ADE folder: train on ade_full.json less fold --ade_fold, test on the fold."}
    )
    ade_fold: int = 0
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N examples only."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Score the first N examples only."})
    remove_overlaps: bool = field(
        default=False,
        metadata={
            "help": "Drop overlapping entities (longer kept, their relations dropped) from train and validation, as "
            "the paper did for ADE; implied by the BIO head for training (the processor counts them either way)."
        },
    )
    split_into_words: bool = field(
        default=False,
        metadata={
            "help": "Train on the dataset's own words (SpERT json, ADE) instead of their text joined by spaces. "
            "Either way the validation set of such data is scored twice: on that text, and on its words "
            "(is_split_into_words=True: the papers' protocol, where a word such as 'Boise.' is one unit)."
        },
    )
    calibration_fraction: float | None = field(
        default=None,
        metadata={
            "help": "Hold out the last fraction of the training examples and choose the entity (span head) and "
            "relation thresholds on them after training; 0 keeps the config's 0.5. Default: 0.1 with the span head "
            "(it helped it on ADE folds 0-2 and CoNLL04), 0 with the BIO head (it hurt it on CoNLL04)."
        },
    )
    score_each_epoch: bool = field(
        default=False, metadata={"help": "Also score the validation set after every epoch (a dev curve)."}
    )


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, object]:
    model_args, data_args, training_args = parse_script_arguments(
        (ModelArguments, DataArguments), argv, **TRAINING_DEFAULTS
    )
    if data_args.calibration_fraction is None:
        data_args.calibration_fraction = 0.1 if model_args.ner_head == "span" else 0.0
    if not data_args.ade_folder and not (data_args.train_file and data_args.validation_file):
        raise ValueError("Give --train_file and --validation_file, or --ade_folder (and --ade_fold).")
    if data_args.data_format not in READERS:
        raise ValueError(f"--data_format {data_args.data_format!r} is not one of {sorted(READERS)}.")
    if data_args.split_into_words and data_args.data_format == "jsonl" and not data_args.ade_folder:
        raise ValueError("--split_into_words needs word-format data (--data_format spert, or --ade_folder).")
    return model_args, data_args, training_args


def load_data(args: DataArguments) -> tuple[list[dict], list[dict], list[dict] | None, dict]:
    """Train examples (raw text, or words with `--split_into_words`), validation examples as raw text and as words
    (None for raw-text data), and what was removed from them."""
    if args.ade_folder:
        train, validation = ade_fold(args.ade_folder, args.ade_fold)
    else:
        read = READERS[args.data_format]
        train, validation = read(args.train_file), read(args.validation_file)
    train, validation = train[: args.max_train_samples], validation[: args.max_eval_samples]
    removed = {}
    if args.remove_overlaps:
        train, removed["train"] = remove_overlapping_entities(train)
        validation, removed["validation"] = remove_overlapping_entities(validation)
    if args.data_format == "jsonl" and not args.ade_folder:
        return train, validation, None, removed
    train = train if args.split_into_words else [words_to_text(e) for e in train]
    return train, [words_to_text(e) for e in validation], validation, removed


def types_of(examples: list[dict]) -> tuple[list[str], list[str]]:
    entity_types = sorted({e["label"] for example in examples for e in example["entities"]})
    relation_types = sorted({r["type"] for example in examples for r in example.get("relations", [])})
    return entity_types, relation_types


def has_overlaps(examples: list[dict]) -> bool:
    """Whether any example has two overlapping (or nested) entities."""
    return remove_overlapping_entities(examples)[1]["entities"] > 0


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args = parse_args(argv)
    set_seed(training_args.seed)
    train, validation, validation_words, removed = load_data(data_args)
    held_out = []
    if data_args.calibration_fraction:
        train, held_out = hold_out_last(train, data_args.calibration_fraction)
    entity_types, relation_types = types_of(train)
    # the span head keeps overlapping predictions only when the training data has overlapping entities
    overlapping = has_overlaps(train)
    layers = {
        name: getattr(model_args, name)
        for name in ("num_shared_layers", "num_ner_layers", "num_re_layers")
        if getattr(model_args, name) is not None
    }
    model = JointErModel.from_encoder(
        model_args.encoder,
        entity_types=entity_types,
        relation_types=relation_types,
        ner_head=model_args.ner_head,
        overlapping_entities=overlapping,
        freeze_encoder=model_args.freeze_encoder,
        rnn_type=model_args.rnn_type,
        relation_loss_weight=model_args.relation_loss_weight,
        asymmetric_relations=not model_args.symmetric_relations,
        relation_context=model_args.relation_context,
        casing_features=model_args.casing_features,
        char_features=model_args.char_features,
        shared_boundary_head=model_args.shared_boundary_head,
        **({} if model_args.positive_weight is None else {"positive_weight": model_args.positive_weight}),
        **{**ABLATIONS[model_args.ablation], **layers},
    )
    if model.config.span_entities:
        print(f"span head: overlapping entities {'kept' if overlapping else 'resolved (flat data)'}")
    processor = JointErProcessor.from_model(model)
    if removed:
        print(f"overlapping entities removed before training: { ({k: dict(v) for k, v in removed.items()}) }")
    metric, batch_size = load_ner_metric("relations"), training_args.per_device_eval_batch_size
    references = [as_metric_example(example) for example in validation]

    def score(model, examples: list[dict] = validation, gold: list[dict] = references) -> dict:
        """Strict entity and relation scores through the pipeline: of texts, or of word lists (offsets in words)."""
        extract = pipeline("joint-er", model=model, processor=processor)
        words = "tokens" in examples[0]
        inputs = [example["tokens" if words else "text"] for example in examples]
        predicted = extract(inputs, batch_size=batch_size, is_split_into_words=words)
        predictions = [as_metric_example(example) for example in predicted]
        kinds = {"entity_types": entity_types, "relation_types": relation_types}
        return metric.compute(predictions=predictions, references=gold, **kinds)

    dev_curve = []
    callbacks = [epoch_scores_callback(lambda model: headline(score(model)), dev_curve)]
    unrepresentable, training = train_on_examples(
        model,
        processor,
        JointErDataCollator,
        train,
        training_args,
        model_args.head_learning_rate,
        callbacks if data_args.score_each_epoch else None,
    )
    if not training_args.should_save:  # another process of a distributed run: the main one evaluates and saves
        return {}

    extract = pipeline("joint-er", model=model.eval(), processor=processor)
    held_out = [words_to_text(example) if "tokens" in example else example for example in held_out]
    calibration = calibrate_joint_thresholds(extract, held_out) if held_out else None
    if calibration:
        print(
            f"calibrated on {len(held_out)} held-out examples: entity threshold {calibration.entity_threshold}, "
            f"relation threshold {calibration.relation_threshold}" + "".join(f"; {r}" for r in calibration.reasons)
        )
    started = time.time()
    scores = score(model)
    predict_seconds = time.time() - started
    print(format_relation_scores(scores))
    word_scores = None
    if validation_words:  # the papers' protocol: the dataset's own words, each one unit
        word_scores = score(model, validation_words, [as_metric_example(example) for example in validation_words])
        print("on the dataset's words (is_split_into_words=True):")
        print(format_relation_scores(word_scores))
    # the same relation scorer given the gold entities: what entity errors cost the strict relation score
    oracle = oracle_relation_scores(model, processor, validation, batch_size)
    unknown = (
        f" (counted as missed, of types the model lacks: {oracle['unknown_types']})" if oracle["unknown_types"] else ""
    )
    print(f"relations with gold entities given (oracle): micro F1 {100 * oracle['micro']['f1']:.2f}{unknown}")
    word_oracle = oracle_relation_scores(model, processor, validation_words, batch_size) if validation_words else None

    settings = {**vars(model_args), **vars(data_args), **{k: getattr(training_args, k) for k in HYPERPARAMETERS}}
    card = JointErCardData(
        model_id=training_args.output_dir,
        datasets=[Path(data_args.ade_folder or data_args.train_file).parent.name],
        hyperparameters={name: value for name, value in settings.items() if value is not None},
        eval_results={Path(data_args.ade_folder or data_args.validation_file).stem: scores},
    )
    extract.save_pretrained(training_args.output_dir, card_data=card)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    results = {
        "scores": scores,
        "word_scores": word_scores,
        "oracle_relations": oracle,
        "word_oracle_relations": word_oracle,
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
        **training,
        "predict_seconds": round(predict_seconds, 1),
        "validation_examples": len(validation),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": trainable,
        "trainable_outside_encoder": sum(
            p.numel() for name, p in model.named_parameters() if not name.startswith("encoder.")
        ),
    }
    if dev_curve:
        results["dev_curve"] = dev_curve
    return write_results(training_args.output_dir, "examples/train_joint_er.py", argv, results)


if __name__ == "__main__":
    main()
