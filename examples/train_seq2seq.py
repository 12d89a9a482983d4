"""Train a seq2seq pointer NER model (flat, nested and discontinuous entities) with the stock Trainer, then score it
on a validation file through the pipeline, on raw text, greedy and with beam search.

    python examples/train_seq2seq.py --train_file ../shared/data/cadec/train.txt \
        --validation_file ../shared/data/cadec/dev.txt --output_dir seq2seq-cadec

    # nested (GENIA) or flat (CoNLL-2003) data train the same model
    python examples/train_seq2seq.py --data_format jsonlines --train_file ../shared/data/genia/train.jsonlines \
        --validation_file ../shared/data/genia/dev.jsonlines --max_train_samples 3000 --output_dir seq2seq-genia

seeds/001's multi-task model: add --relation_prediction, --token_relation_attention, --entity_type_attention (each
alone or together: the paper's ablation is four runs of this script); the entity base of type attention is the
training set's own entities (counted per type) unless --gazetteer gives a file (`type<TAB>name[<TAB>count]` or json);
with --type_names_only there is none, and the type embeddings start from the type names.

Inputs: the discontinuous format (`--data_format discontinuous`: a sentence line, then `start,end[,start,end...]
TYPE|...` with inclusive word indices, then a blank line; CADEC), CoNLL columns (`--data_format conll`) or word-span
jsonlines (`--data_format jsonlines`, GENIA). Words are joined by spaces into raw text. The command line is the other
two scripts': every TrainingArguments option, `--encoder` (an encoder, warm-started as a pair, or an
encoder-decoder), `--learning_rate` for the pretrained backbone and `--head_learning_rate` for what starts untrained.
Runs under `accelerate launch` as any Trainer script does. Writes the model folder (Hub-ready: model, processor,
code, card) and `results.json` (the command, scores of all and of discontinuous entities, training and generation
speed, parameter counts).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from transformers import pipeline, set_seed

from multiner import (
    Seq2SeqNerCardData,
    Seq2SeqNerConfig,
    Seq2SeqNerDataCollator,
    Seq2SeqNerModel,
    Seq2SeqNerProcessor,
)
from multiner.ner_metric import as_metric_entities, headline, load_ner_metric
from multiner.readers import (
    entity_base_of,
    entity_types_of,
    read_conll,
    read_discontinuous,
    read_gazetteer,
    read_word_span_jsonl,
    words_to_text,
)
from multiner.training_core import (
    HYPERPARAMETERS,
    SCRIPT_DEFAULTS,
    EncoderArguments,
    epoch_scores_callback,
    parse_script_arguments,
    train_on_examples,
    write_results,
)

READERS = {"discontinuous": read_discontinuous, "conll": read_conll, "jsonlines": read_word_span_jsonl}
# The family's defaults for the command line (each one an option it can change).
TRAINING_DEFAULTS = {
    **SCRIPT_DEFAULTS,
    "num_train_epochs": 10,
    "per_device_train_batch_size": 16,
    "learning_rate": 5e-5,
    "weight_decay": 0.01,
    "head_learning_rate": 1e-4,
    "per_device_eval_batch_size": 32,  # windows per generation batch of the validation scoring
}


@dataclass
class ModelArguments(EncoderArguments):
    """Every Seq2SeqNerConfig field not listed keeps its default; --encoder may also be an encoder-decoder (BART),
    and an encoder alone (the packaged MiniLM) is warm-started as a pair."""

    target_mode: str = field(
        default=Seq2SeqNerConfig.target_mode, metadata={"help": "fragment_bounds (the config's default) or all_words."}
    )
    share_encoder_decoder: bool = Seq2SeqNerConfig.share_encoder_decoder
    relation_prediction: bool = field(default=False, metadata={"help": "seeds/001's word-pair task (RP)."})
    token_relation_attention: bool = field(default=False, metadata={"help": "seeds/001's TRA."})
    entity_type_attention: bool = field(default=False, metadata={"help": "seeds/001's ETA."})
    relation_loss_weight: float = field(
        default=Seq2SeqNerConfig.relation_loss_weight, metadata={"help": "w in L_entity + w * L_relation."}
    )
    relation_size: int = field(default=Seq2SeqNerConfig.relation_size, metadata={"help": "Word-pair grid size."})
    gated_additions: bool = field(
        default=True, metadata={"help": "TRA and ETA through gates that start closed (False: seeds/001's form)."}
    )
    gate_learning_rate: float | None = field(
        default=None, metadata={"help": "Learning rate of the TRA/ETA gates (default: --head_learning_rate)."}
    )
    gazetteer: str | None = field(
        default=None, metadata={"help": "Entity base of type attention (default: the training entities)."}
    )
    type_names_only: bool = field(
        default=False,
        metadata={"help": "Type attention without an entity base: type embeddings start from the type names."},
    )


@dataclass
class DataArguments:
    train_file: str | None = None
    validation_file: str | None = None
    data_format: str = field(default="discontinuous", metadata={"help": f"One of {sorted(READERS)}."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N examples only."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Score the first N examples only."})
    num_beams: list[int] = field(
        default_factory=lambda: [1, 4], metadata={"help": "Validation scored with each beam count (first: card)."}
    )
    score_each_epoch: bool = field(
        default=False, metadata={"help": "Also score the validation set greedily after every epoch (a dev curve)."}
    )


def parse_args(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, object]:
    model_args, data_args, training_args = parse_script_arguments(
        (ModelArguments, DataArguments), argv, **TRAINING_DEFAULTS
    )
    if not (data_args.train_file and data_args.validation_file):
        raise ValueError("Give --train_file and --validation_file.")
    if data_args.data_format not in READERS:
        raise ValueError(f"--data_format {data_args.data_format!r} is not one of {sorted(READERS)}.")
    return model_args, data_args, training_args


def entity_base_for(args: ModelArguments, train: list[dict]) -> dict | None:
    """ETA's entity base: none without type attention or with --type_names_only (the type embeddings start from
    the type names), else --gazetteer's names, or the training set's own entities."""
    if not args.entity_type_attention or args.type_names_only:
        return None
    return read_gazetteer(args.gazetteer) if args.gazetteer else entity_base_of(train)


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args = parse_args(argv)
    set_seed(training_args.seed)
    read = READERS[data_args.data_format]
    train = [words_to_text(example) for example in read(data_args.train_file)[: data_args.max_train_samples]]
    validation = read(data_args.validation_file)[: data_args.max_eval_samples]
    validation = [words_to_text(example) for example in validation]
    entity_base = entity_base_for(model_args, train)
    model = Seq2SeqNerModel.from_encoder(
        model_args.encoder,
        entity_types=entity_types_of(train),
        target_mode=model_args.target_mode,
        share_encoder_decoder=model_args.share_encoder_decoder,
        relation_prediction=model_args.relation_prediction,
        token_relation_attention=model_args.token_relation_attention,
        entity_type_attention=model_args.entity_type_attention,
        relation_loss_weight=model_args.relation_loss_weight,
        relation_size=model_args.relation_size,
        gated_additions=model_args.gated_additions,
        entity_base=entity_base,
        # flat or nested data: generation writes contiguous entities only
        discontinuous=any(len(e.get("fragments", [e])) > 1 for example in train for e in example["entities"]),
    )
    processor = Seq2SeqNerProcessor.from_model(model)
    metric = load_ner_metric("fragments")
    texts = [example["text"] for example in validation]
    references = [as_metric_entities(example["entities"], fragments=True) for example in validation]

    def score(model, num_beams=1) -> dict:
        """The validation set's scores (all and discontinuous entities) and generation speed at `num_beams`."""
        extract = pipeline("seq2seq-ner", model=model, processor=processor)
        started = time.time()
        predicted = extract(texts, batch_size=training_args.per_device_eval_batch_size, num_beams=num_beams)
        seconds = time.time() - started
        found = [as_metric_entities(entities, fragments=True) for entities in predicted]
        scores = metric.compute(predictions=found, references=references)
        return {"scores": scores, "sentences_per_second": round(len(texts) / seconds, 1)}

    dev_curve = []
    callbacks = [epoch_scores_callback(lambda model: headline(score(model)["scores"]), dev_curve)]
    unrepresentable, training = train_on_examples(
        model,
        processor,
        Seq2SeqNerDataCollator,
        train,
        training_args,
        model_args.head_learning_rate,
        callbacks if data_args.score_each_epoch else None,
        model_args.gate_learning_rate,
    )
    if not training_args.should_save:  # another process of a distributed run: the main one evaluates and saves
        return {}
    model.eval()
    evaluations = {}
    for num_beams in data_args.num_beams:
        evaluations[f"beams_{num_beams}"] = evaluation = score(model, num_beams)
        speed = evaluation["sentences_per_second"]
        print(f"num_beams={num_beams}: {headline(evaluation['scores'])}; {speed} sentences/s")

    settings = {**vars(model_args), **vars(data_args), **{k: getattr(training_args, k) for k in HYPERPARAMETERS}}
    card = Seq2SeqNerCardData(
        model_id=training_args.output_dir,
        datasets=[Path(data_args.train_file).parent.name],
        hyperparameters={name: value for name, value in settings.items() if value is not None},
        eval_results={Path(data_args.validation_file).stem: evaluations[f"beams_{data_args.num_beams[0]}"]["scores"]},
    )
    pipeline("seq2seq-ner", model=model, processor=processor).save_pretrained(training_args.output_dir, card_data=card)
    results = {
        "evaluations": evaluations,
        "unrepresentable": unrepresentable,
        "train_examples": len(train),
        "validation_examples": len(validation),
        **training,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if dev_curve:
        results["dev_curve"] = dev_curve
    if model.addition_gates is not None:  # how much each layer reads of the type (ETA) and relation (TRA) vectors
        results["gates"] = {
            "type": [round(value, 4) for value in model.addition_gates[:, 0].tanh().tolist()],
            "relation": [round(value, 4) for value in model.addition_gates[:, 1].tanh().tolist()],
        }
    return write_results(training_args.output_dir, "examples/train_seq2seq.py", argv, results)


if __name__ == "__main__":
    main()
