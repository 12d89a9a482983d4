"""Offline fixtures: tiny random BERT and RoBERTa encoders saved with their tokenizers in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from tokenizers import ByteLevelBPETokenizer, processors  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoTokenizer,
    BertConfig,
    BertModel,
    RobertaConfig,
    RobertaModel,
    RobertaTokenizer,
)

import multiner  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37}
CORPUS = [
    "Ada Lovelace was born in London, England.",
    "Alan Turing worked at the University of Manchester.",
    "Paris and Berlin are cities in Europe; the Rhine is a river.",
    "Marie Curie won the Nobel Prize twice.",
]


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory) -> str:
    """A 2-layer, hidden-32 random BERT with the (real, offline) MiniLM WordPiece tokenizer."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, **TINY)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(multiner.default_encoder_path()).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def roberta_dir(tmp_path_factory) -> str:
    """A 2-layer, hidden-32 random RoBERTa with a byte-level BPE tokenizer trained here on a few sentences."""
    folder = tmp_path_factory.mktemp("tiny-roberta")
    bpe = ByteLevelBPETokenizer(add_prefix_space=True, trim_offsets=True)
    bpe.train_from_iterator(CORPUS * 10, vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe._tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=True
    )
    RobertaTokenizer(tokenizer_object=bpe._tokenizer, add_prefix_space=True).save_pretrained(folder)
    torch.manual_seed(0)
    RobertaModel(RobertaConfig(vocab_size=bpe.get_vocab_size(), pad_token_id=1, **TINY)).save_pretrained(folder)
    return str(folder)


@pytest.fixture(params=["bert", "roberta"])
def encoder_dir(request, bert_dir, roberta_dir) -> str:
    return {"bert": bert_dir, "roberta": roberta_dir}[request.param]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real datasets not found at {DATA_DIR} (they live in ../shared/data beside the checkout)")
    return DATA_DIR


def tiny_config(encoder_dir: str | None = None, entity_types=("PER", "LOC", "ORG"), **fields):
    """A `MultiNerConfig` over an encoder folder's config (the packaged MiniLM when None)."""
    encoder_config = AutoConfig.from_pretrained(encoder_dir or multiner.default_encoder_path())
    return multiner.MultiNerConfig(
        encoder_config=encoder_config.to_dict(), entity_types=list(entity_types), encoder_name=encoder_dir, **fields
    )


def processor_for(
    encoder_dir=None, entity_types=("PER", "LOC", "ORG"), queries=None, max_length=256, stride=64, **fields
):
    """The processor of a model with this encoder, these types and config `fields` (no model is built)."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir or multiner.default_encoder_path())
    config = tiny_config(encoder_dir, entity_types, **fields)
    return multiner.MultiNerProcessor(tokenizer, config, queries=queries, max_length=max_length, stride=stride)


# Nested examples (ORG names holding a LOC) that the tiny trained models learn by heart.
NESTED = [
    ("Ada Lovelace lived in London.", [(0, 12, "PER"), (22, 28, "LOC")]),
    ("The Bank of England hired Alan Turing.", [(4, 19, "ORG"), (12, 19, "LOC"), (26, 37, "PER")]),
    ("University of Manchester staff met in Paris.", [(0, 24, "ORG"), (14, 24, "LOC"), (38, 43, "LOC")]),
    ("Nothing to find here.", []),
    ("Marie Curie moved to Paris from Warsaw.", [(0, 11, "PER"), (21, 26, "LOC"), (32, 38, "LOC")]),
]


def as_dataset(examples):
    """(text, [(start, end, label)]) pairs as a `datasets.Dataset` of text + character-offset entities."""
    import datasets

    return datasets.Dataset.from_list(
        [
            {"text": text, "entities": [{"start": s, "end": e, "label": label} for s, e, label in ents]}
            for text, ents in examples
        ]
    )


def train_tiny_model(encoder_dir, folder, examples, epochs=80, max_length=256, stride=64, **config_fields):
    """A tiny Multi-NER model trained with the stock Trainer until it knows `examples`, saved with its processor in
    `folder` (model.save_pretrained + processor.save_pretrained); returns the folder as a string."""
    from transformers import Trainer, TrainingArguments, set_seed

    set_seed(0)
    fields = {"max_span_length": 8, "head_dropout": 0.0, "type_attention_dropout": 0.0, **config_fields}
    model = multiner.MultiNerModel.from_encoder(encoder_dir, entity_types=["PER", "LOC", "ORG"], **fields)
    processor = multiner.MultiNerProcessor.from_model(model, max_length=max_length, stride=stride)
    data = as_dataset(examples)
    train = data.map(processor.preprocess, batched=True, batch_size=2, remove_columns=data.column_names)
    args = TrainingArguments(
        output_dir=str(Path(folder) / "run"),
        num_train_epochs=epochs,
        per_device_train_batch_size=2,
        learning_rate=3e-3,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    collator = multiner.MultiNerDataCollator.from_processor(processor)
    Trainer(model=model, args=args, train_dataset=train, data_collator=collator).train()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def packed_dir(bert_dir, tmp_path_factory) -> str:
    """A tiny packed-mode model that knows NESTED (shared by the modeling, pipeline and Hub-folder tests)."""
    return train_tiny_model(bert_dir, tmp_path_factory.mktemp("packed-model"), NESTED, query_mode="packed")


# Sentences with entities (character offsets) and relations (indices into the entities) that the tiny joint models
# learn by heart.
RELATIONS = [
    {
        "text": "Ada Lovelace lived in London.",
        "entities": [{"start": 0, "end": 12, "label": "Peop"}, {"start": 22, "end": 28, "label": "Loc"}],
        "relations": [{"head": 0, "tail": 1, "type": "Live_In"}],
    },
    {
        "text": "Alan Turing worked for the University of Manchester.",
        "entities": [{"start": 0, "end": 11, "label": "Peop"}, {"start": 27, "end": 51, "label": "Org"}],
        "relations": [{"head": 0, "tail": 1, "type": "Work_For"}],
    },
    {
        "text": "Marie Curie worked in Paris for the Sorbonne.",
        "entities": [
            {"start": 0, "end": 11, "label": "Peop"},
            {"start": 22, "end": 27, "label": "Loc"},
            {"start": 36, "end": 44, "label": "Org"},
        ],
        "relations": [{"head": 0, "tail": 2, "type": "Work_For"}, {"head": 0, "tail": 1, "type": "Live_In"}],
    },
    {"text": "Nothing to find here.", "entities": [], "relations": []},
]
RELATION_TYPES = ["Live_In", "Work_For"]
JOINT_ENTITY_TYPES = ["Loc", "Org", "Peop"]


def memorise(model, processor, collator_class, task, examples, steps, folder) -> str:
    """Train `model` with a plain loop on one batch of all `examples` (AdamW, 3e-3), then save it with its processor
    through the family's pipeline (model, processor, code, card) into `folder`. Returns the folder."""
    from transformers import pipeline

    rows = processor.preprocess({name: [example[name] for example in examples] for name in examples[0]})
    features = [{name: rows[name][i] for name in rows} for i in range(len(rows["input_ids"]))]
    batch = collator_class.from_processor(processor)(features)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    model.eval()
    pipeline(task, model=model, processor=processor).save_pretrained(folder)
    return str(folder)


def joint_model(encoder_dir, **config_fields):
    """A joint entity-relation model over `encoder_dir` with the test entity and relation types: the paper's model
    (BIO-CRF head, DistMult scorer without pair context, no word features: tests that build inputs by hand give no
    casing or character ids) unless the test asks for more."""
    features = {"casing_features": False, "char_features": False, "ner_head": "bio_crf", "relation_context": False}
    return multiner.JointErModel.from_encoder(
        encoder_dir,
        entity_types=JOINT_ENTITY_TYPES,
        relation_types=RELATION_TYPES,
        **{**features, **config_fields},
    )


def train_tiny_joint_model(encoder_dir, folder, examples=RELATIONS, steps=150, **config_fields):
    """A tiny joint entity-relation model trained (a plain loop, one batch of all examples) until it knows
    `examples`; saved with its processor through the pipeline (model, processor, code, card). Returns the folder."""
    from transformers import set_seed

    set_seed(0)
    fields = {
        "rnn_hidden_size": 32,
        "ner_hidden_size": 32,
        "re_hidden_size": 32,
        "label_embedding_size": 8,
        "rnn_dropout": 0.0,
        "re_dropout": 0.0,
        "max_span_length": 8,
        **config_fields,
    }
    model = joint_model(encoder_dir, **fields)
    processor = multiner.JointErProcessor.from_model(model)
    return memorise(model, processor, multiner.JointErDataCollator, "joint-er", examples, steps, folder)


@pytest.fixture(scope="session")
def joint_er_dir(bert_dir, tmp_path_factory) -> str:
    """A tiny BIO-CRF joint model that knows RELATIONS."""
    return train_tiny_joint_model(bert_dir, tmp_path_factory.mktemp("joint-er-model"))


# Discontinuous, nested and flat entities together: "aching ... shoulders" skips "the legs and".
DISCONTINUOUS = [
    {
        "text": "I had aching in the legs and shoulders after aspirin.",
        "entities": [
            {"label": "ADR", "fragments": [{"start": 6, "end": 15}, {"start": 29, "end": 38}]},
            {"label": "ADR", "start": 6, "end": 24},
            {"label": "Drug", "start": 45, "end": 52},
        ],
    },
    {
        "text": "Lipitor gave me muscle pain and cramps.",
        "entities": [
            {"label": "Drug", "start": 0, "end": 7},
            {"label": "ADR", "start": 16, "end": 27},
            {"label": "ADR", "fragments": [{"start": 16, "end": 22}, {"start": 32, "end": 38}]},
        ],
    },
    {"text": "No problems at all.", "entities": []},
]
SEQ2SEQ_TYPES = ["ADR", "Drug"]


def train_tiny_seq2seq_model(encoder_dir, folder, examples=DISCONTINUOUS, steps=120, **config_fields):
    """A tiny seq2seq pointer model trained (a plain loop, one batch of all examples) until it knows `examples`;
    saved with its processor through the pipeline (model, processor, code, card). Returns the folder."""
    from transformers import set_seed

    set_seed(0)
    model = multiner.Seq2SeqNerModel.from_encoder(
        encoder_dir, entity_types=SEQ2SEQ_TYPES, **{"pointer_dropout": 0.0, **config_fields}
    )
    processor = multiner.Seq2SeqNerProcessor.from_model(model)
    return memorise(model, processor, multiner.Seq2SeqNerDataCollator, "seq2seq-ner", examples, steps, folder)


@pytest.fixture(scope="session")
def seq2seq_dir(bert_dir, tmp_path_factory) -> str:
    """A tiny warm-started seq2seq pointer model that knows DISCONTINUOUS."""
    return train_tiny_seq2seq_model(bert_dir, tmp_path_factory.mktemp("seq2seq-model"))


# Tiny seq2seq backbones and inputs for model-level tests (a 60-token vocabulary, no tokenizer)
SEQ2SEQ_TINY_BERT = {
    "vocab_size": 60,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 37,
}


def tiny_bart_config():
    """A 1-layer, d_model 32 BART config (an encoder-decoder backbone) with the 60-token vocabulary."""
    from transformers import BartConfig

    return BartConfig(
        vocab_size=60,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        max_position_embeddings=64,
    )


def seq2seq_inputs():
    """Two source windows: 3 words (the second of two tokens) and 2 words with padding."""
    input_ids = torch.tensor([[2, 11, 12, 13, 14, 3], [2, 21, 22, 3, 0, 0]])
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != 0).long(),
        "word_index": torch.tensor([[1, 2, 4], [1, 2, -1]]),
    }


def offline_results(folder, texts, tmp_path, summary: str, **call_options) -> list:
    """Run a saved folder's pipeline on `texts` in a fresh interpreter where multiner cannot be imported
    (`trust_remote_code`, offline) and return `summary`, a Python expression over the pipeline's outputs `found`,
    as JSON."""
    import json
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["multiner"] = None
        from transformers import pipeline
        extract = pipeline(model={str(folder)!r}, trust_remote_code=True)
        assert type(extract).__module__.startswith("transformers_modules"), type(extract).__module__
        found = extract({list(texts)!r}, **{call_options!r})
        print("RESULTS " + json.dumps({summary}))
        """
    )
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULTS "))
    return json.loads(line[len("RESULTS ") :])


def offline_joint_results(folder, texts, tmp_path) -> list:
    """A joint ER folder's `offline_results`: per text `[[[label, word], ...], [[type, head, tail word], ...]]`."""
    summary = """[
        [[[e["entity_group"], e["word"]] for e in f["entities"]],
         [[r["type"], f["entities"][r["head"]]["word"], f["entities"][r["tail"]]["word"]] for r in f["relations"]]]
        for f in found]"""
    return offline_results(folder, texts, tmp_path, " ".join(summary.split()))


def offline_fragments(folder, texts, tmp_path, **call_options) -> list:
    """A seq2seq folder's `offline_results`: per text `[[label, [[start, end], ...]], ...]`."""
    summary = '[[[e["entity_group"], [[f["start"], f["end"]] for f in e["fragments"]]] for e in f] for f in found]'
    return offline_results(folder, texts, tmp_path, summary, **call_options)
