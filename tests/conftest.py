"""Offline fixtures: tiny random BERT and RoBERTa encoders saved with their tokenizers in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from tokenizers import ByteLevelBPETokenizer, processors  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel, RobertaConfig, RobertaModel, RobertaTokenizer  # noqa: E402

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
