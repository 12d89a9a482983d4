"""Pads joint entity-relation features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .modeling_core import LABEL_PAD


@dataclass
class JointErDataCollator:
    """Dynamic padding of the rows `JointErProcessor.preprocess` writes; pure: it knows a pad id, nothing else.

    Every row has `input_ids` and `word_ids` [seq] (the window word of each token, -1 for special tokens), and
    optionally `labels` (first word, last word, type) and `relation_labels` (head entity, tail entity, type) triples
    and `input_signature`. Sequences are padded to the longest in the batch (`input_ids` with the pad id, `word_ids`
    with -1), triples with -100; `attention_mask` comes from the lengths. Other fields (the `unrepresentable`
    counts) are ignored.

    Example:
        >>> collator = JointErDataCollator(pad_token_id=0)
        >>> batch = collator([{"input_ids": [101, 7, 102], "word_ids": [-1, 0, -1]},
        ...                   {"input_ids": [101, 102], "word_ids": [-1, -1]}])
        >>> batch["word_ids"].tolist(), batch["attention_mask"].tolist()
        ([[-1, 0, -1], [-1, -1, -1]], [[1, 1, 1], [1, 1, 0]])
    """

    pad_token_id: int
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        if self.return_tensors != "pt":
            raise ValueError(
                f"JointErDataCollator returns PyTorch tensors only, got return_tensors={self.return_tensors!r}."
            )
        if not isinstance(self.pad_token_id, int) or isinstance(self.pad_token_id, bool):
            raise ValueError(
                f"JointErDataCollator pad_token_id={self.pad_token_id!r} must be an integer: the tokenizer needs a "
                "padding token (tokenizer.pad_token_id)."
            )

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any) -> JointErDataCollator:
        """The collator for a processor's features (its tokenizer's pad id)."""
        return cls(processor.tokenizer.pad_token_id, **kwargs)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("JointErDataCollator got an empty list of features.")
        length = max(len(feature["input_ids"]) for feature in features)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = np.full((len(features), length), self.pad_token_id, dtype=np.int64)
        word_ids = np.full((len(features), length), -1, dtype=np.int64)
        attention_mask = np.zeros((len(features), length), dtype=np.int64)
        for row, feature in enumerate(features):
            size = len(feature["input_ids"])
            if len(feature["word_ids"]) != size:
                raise ValueError(f"Row {row}: word_ids has {len(feature['word_ids'])} items for {size} tokens.")
            input_ids[row, :size] = feature["input_ids"]
            word_ids[row, :size] = feature["word_ids"]
            attention_mask[row, :size] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "word_ids": word_ids}
        for name in ("labels", "relation_labels"):
            if name in features[0]:
                batch[name] = _pad_triples([feature[name] for feature in features])
        if "input_signature" in features[0]:
            batch["input_signature"] = np.array([feature["input_signature"] for feature in features], dtype=np.int64)
        return {name: torch.from_numpy(values) for name, values in batch.items()}


def _pad_triples(rows: Sequence[Sequence[Sequence[int]]]) -> np.ndarray:
    width = max(1, max(len(triples) for triples in rows))
    padded = np.full((len(rows), width, 3), LABEL_PAD, dtype=np.int64)
    for row, triples in enumerate(rows):
        if len(triples):
            padded[row, : len(triples)] = triples
    return padded


__all__ = ["JointErDataCollator"]
