"""Speed of the two query modes, and where the per-type mode's training time goes.

Three measurements on this machine, each system under the same conditions, one after the other:

- training: the stock Trainer for --train_steps steps of 8 CoNLL-2003 training sentences (the same sentences for
  every system) with Multi-NER per-type, Multi-NER packed (both type attention "full", default guideline queries)
  and transformers' AutoModelForTokenClassification. Reports sentences/s and the encoder tokens each system feeds
  per sentence (padding included), so time per token shows what is overhead beyond the encoder.
- pipeline: `pipeline("multi-ner")` on --sentences CoNLL-2003 development sentences (text), batch 32, with a
  per-type and a packed model trained with the same small recipe (2 epochs on 400 training sentences, kept in
  benchmarks/results/), entities found by each.
- 18 types: the same pipelines with both small models widened to the 18 OntoNotes 5 labels and their template
  queries (see `widened`), on the first half of the same development sentences.

    python benchmarks/query_modes.py [--train_steps 60] [--sentences 1000]

Writes benchmarks/results/query_modes.json and its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import datasets
import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
    pipeline,
    set_seed,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, ROOT, provenance, small_conll_model, write_result, write_section  # noqa: E402

from multiner import MultiNerDataCollator, MultiNerModel, MultiNerProcessor, default_encoder_path  # noqa: E402
from multiner.readers import read_conll  # noqa: E402

TYPES = ["PER", "LOC", "ORG", "MISC"]
ONTONOTES = [
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART",
    "LAW", "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
]  # fmt: skip
RESULTS = ROOT / "benchmarks" / "results"
MODES = ("per_type", "packed")


class TokenCounter:
    """Collator wrapper that counts the encoder tokens (padding included) of every batch it builds."""

    def __init__(self, collator):
        self.collator, self.tokens, self.sentences = collator, 0, 0

    def __call__(self, features):
        batch = self.collator(features)
        self.tokens += batch["input_ids"].numel() + batch.get("query_input_ids", torch.zeros(1, 0))[:1].numel()
        self.sentences += len(features)
        return batch


def training(train: list[dict], steps: int) -> dict:
    sentences = train[: steps * 8]
    results = {}
    for system in ("per_type", "packed", "token-classification"):
        set_seed(42)
        if system == "token-classification":
            model, rows, collator = token_classification_setup(sentences)
        else:
            model = MultiNerModel.from_encoder(entity_types=TYPES, query_mode=system)
            processor = MultiNerProcessor.from_model(model)
            data = datasets.Dataset.from_list(sentences)
            rows = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
            collator = MultiNerDataCollator.from_processor(processor)
        counter = TokenCounter(collator)
        args = TrainingArguments(
            output_dir=str(RESULTS / "side_by_side" / "work" / "speed"),
            max_steps=steps,
            per_device_train_batch_size=8,
            learning_rate=1e-4,
            warmup_steps=10,
            seed=42,
            report_to=[],
            save_strategy="no",
            disable_tqdm=True,
            dataloader_pin_memory=False,
        )
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=counter)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        results[system] = {
            "sentences_per_second": round(counter.sentences / seconds, 2),
            "encoder_tokens_per_sentence": round(counter.tokens / counter.sentences, 1),
            "encoder_tokens_per_second": round(counter.tokens / seconds, 1),
            "seconds": round(seconds, 1),
        }
        print(system, results[system], flush=True)
    return results


def token_classification_setup(sentences: list[dict]):
    encoder = default_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    labels = ["O"] + [f"{prefix}-{name}" for name in TYPES for prefix in ("B", "I")]
    model = AutoModelForTokenClassification.from_pretrained(encoder, num_labels=len(labels))

    def encode(example: dict) -> dict:
        encoding = tokenizer(example["tokens"], is_split_into_words=True, truncation=True, max_length=256)
        # the labels do not change the cost; a correct tagging is in side_by_side.py
        return {**encoding, "labels": [0] * len(encoding["input_ids"])}

    rows = datasets.Dataset.from_list(sentences).map(encode, remove_columns=["tokens", "entities"])
    return model, rows, DataCollatorForTokenClassification(tokenizer)


def widened(folder: Path, types: list[str], work: Path) -> Path:
    """The trained 4-type model with `types` instead: encoder, type and query attention as trained, type t gets the
    trained heads of CoNLL-2003 type t mod 4 and the template query of its label; saved under `work`. Its boundaries
    are as sparse as a trained model's, so decoding costs what it costs in use."""
    trained = MultiNerModel.from_pretrained(folder)
    config = trained.config.to_dict() | {"entity_types": types}
    model = MultiNerModel(type(trained.config).from_dict(config))
    state = trained.state_dict()
    source = torch.arange(len(types)) % len(TYPES)
    for name, value in state.items():
        if name.startswith("heads."):
            state[name] = value[source]
    model.load_state_dict(state)
    processor = MultiNerProcessor.from_pretrained(folder)
    # 18 template queries take 197 tokens packed: max_length 512 (MiniLM's limit) leaves room for a sentence
    wide = MultiNerProcessor(processor.tokenizer, model.config, max_length=512)
    target = work / f"{folder.name}-{len(types)}-types"
    model.save_pretrained(target)
    wide.save_pretrained(target)
    return target


def pipeline_speed(texts: list[str], types: list[str]) -> dict:
    results = {}
    for mode in MODES:
        folder = small_conll_model(mode)
        if types != TYPES:
            folder = widened(folder, types, RESULTS / "side_by_side" / "work")
        ner = pipeline("multi-ner", model=str(folder), batch_size=32)
        ner(texts[:32])  # warm-up
        start = time.perf_counter()
        found = ner(texts)
        seconds = time.perf_counter() - start
        results[mode] = {
            "sentences_per_second": round(len(texts) / seconds, 2),
            "entities_found": sum(len(entities) for entities in found),
        }
        print("pipeline", len(types), mode, results[mode], flush=True)
    return results


def ratio(results: dict) -> float:
    return round(results["packed"]["sentences_per_second"] / results["per_type"]["sentences_per_second"], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_steps", type=int, default=60)
    parser.add_argument("--sentences", type=int, default=1000)
    args = parser.parse_args()

    train = read_conll(DATA / "conll2003" / "eng.train")
    texts = [" ".join(example["tokens"]) for example in read_conll(DATA / "conll2003" / "eng.testa")]
    texts = texts[: args.sentences]
    result = {
        **provenance(),
        "training": training(train, args.train_steps),
        "pipeline_4_types": pipeline_speed(texts, TYPES),
        "pipeline_18_types": pipeline_speed(texts[: args.sentences // 2], ONTONOTES),
    }
    write_result(RESULTS / "query_modes.json", result)
    report(result, args)


def report(result: dict, args) -> None:
    train = result["training"]
    rows = "\n".join(
        f"| {system} | {values['sentences_per_second']} | {values['encoder_tokens_per_sentence']} | "
        f"{values['encoder_tokens_per_second']} |"
        for system, values in train.items()
    )
    four, many = result["pipeline_4_types"], result["pipeline_18_types"]
    write_section(
        "query_modes",
        f"""
## Query modes: per-type vs packed (issue: one encoder pass for all entity types)

**Training** ({args.train_steps} steps of 8 CoNLL-2003 training sentences, the same sentences for every system,
stock Trainer, lr 1e-4; Multi-NER with type attention "full" and the default guideline queries). Encoder tokens
count padding, and the packed query block once per batch.

| system | train sentences/s | encoder tokens / sentence | encoder tokens/s |
|---|---|---|---|
{rows}

Packed / per-type training throughput: **{
            round(train["packed"]["sentences_per_second"] / train["per_type"]["sentences_per_second"], 2)
        }×**; per-type / token classification:
{round(train["per_type"]["sentences_per_second"] / train["token-classification"]["sentences_per_second"], 3)}.

**Inference**: CoNLL-2003 development sentences as text, batch 32:

| `pipeline("multi-ner")` | sentences | per-type sent/s | packed sent/s | packed / per-type | entities found |
|---|---|---|---|---|---|
| 4 types (CoNLL-2003) | {args.sentences} | {four["per_type"]["sentences_per_second"]} | \
{four["packed"]["sentences_per_second"]} | **{ratio(four)}×** | {four["per_type"]["entities_found"]} / \
{four["packed"]["entities_found"]} |
| 18 types (OntoNotes 5 labels, template queries, max_length 512) | {args.sentences // 2} | \
{many["per_type"]["sentences_per_second"]} | {many["packed"]["sentences_per_second"]} | **{ratio(many)}×** | \
{many["per_type"]["entities_found"]} / {many["packed"]["entities_found"]} |

4 types: the small models (2 epochs on 400 training sentences, lr 3e-4) of each mode. 18 types: the same models
widened to the 18 OntoNotes 5 labels (encoder and attention as trained, type t with the heads of CoNLL-2003 type
t mod 4 and its label's template query), so that boundaries are as sparse as a trained model's and decoding costs
what it costs in use; the entities they find mean nothing.

- Command: `{result["command"]}`
- Machine: {result["machine"]}
- Date: {result["date"]}
""",
    )


if __name__ == "__main__":
    main()
