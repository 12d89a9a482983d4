"""Pads seq2seq pointer features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .modeling_core import LABEL_PAD


@dataclass
class Seq2SeqNerDataCollator:
    """Dynamic padding of the rows `Seq2SeqNerProcessor.preprocess` writes; pure: it knows a pad id, nothing else.

    Every row has `input_ids` [seq] and `word_index` [words] (the position of each source word's first token), and
    optionally `labels` [steps] (target ids), `relation_labels` (`[i, j, class]` word pairs of relation prediction;
    `[-100, -100, -100]` for none) and `input_signature`. `input_ids` are padded with the pad id, `word_index` with
    -1, `labels` with -100; `attention_mask` comes from the lengths; `relation_labels` become a `[batch, words,
    words]` grid, 0 (None) for unlisted pairs of real words and -100 where either word is padding. Other fields
    (the `unrepresentable` counts) are ignored.

    Example:
        >>> collator = Seq2SeqNerDataCollator(pad_token_id=0)
        >>> batch = collator([{"input_ids": [101, 7, 8, 102], "word_index": [1, 2], "labels": [4, 2, 0]},
        ...                   {"input_ids": [101, 9, 102], "word_index": [1], "labels": [0]}])
        >>> batch["word_index"].tolist(), batch["labels"].tolist()
        ([[1, 2], [1, -1]], [[4, 2, 0], [0, -100, -100]])
    """

    pad_token_id: int
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        if self.return_tensors != "pt":
            raise ValueError(
                f"Seq2SeqNerDataCollator returns PyTorch tensors only, got return_tensors={self.return_tensors!r}."
            )
        if not isinstance(self.pad_token_id, int) or isinstance(self.pad_token_id, bool):
            raise ValueError(
                f"Seq2SeqNerDataCollator pad_token_id={self.pad_token_id!r} must be an integer: the tokenizer needs a "
                "padding token (tokenizer.pad_token_id)."
            )

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any) -> Seq2SeqNerDataCollator:
        """The collator for a processor's features (its tokenizer's pad id)."""
        return cls(processor.tokenizer.pad_token_id, **kwargs)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("Seq2SeqNerDataCollator got an empty list of features.")
        length = max(len(feature["input_ids"]) for feature in features)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = _pad([feature["input_ids"] for feature in features], self.pad_token_id, length)
        batch = {
            "input_ids": input_ids,
            "attention_mask": _pad([[1] * len(feature["input_ids"]) for feature in features], 0, length),
            "word_index": _pad([feature["word_index"] for feature in features], -1),
        }
        if "labels" in features[0]:
            batch["labels"] = _pad([feature["labels"] for feature in features], LABEL_PAD)
        if "relation_labels" in features[0]:
            batch["relation_labels"] = _pair_grid(features, batch["word_index"].shape[1])
        if "input_signature" in features[0]:
            batch["input_signature"] = np.array([feature["input_signature"] for feature in features], dtype=np.int64)
        return {name: torch.from_numpy(values) for name, values in batch.items()}


def _pair_grid(features: Sequence[Mapping[str, Any]], words: int) -> np.ndarray:
    grid = np.full((len(features), words, words), LABEL_PAD, dtype=np.int64)
    for row, feature in enumerate(features):
        size = len(feature["word_index"])
        grid[row, :size, :size] = 0
        for i, j, kind in feature["relation_labels"]:
            if kind == LABEL_PAD:
                continue
            if not (0 <= i < size and 0 <= j < size):
                raise ValueError(f"Row {row}: relation_labels pair ({i}, {j}) is outside its {size} words.")
            grid[row, i, j] = kind
    return grid


def _pad(rows: Sequence[Sequence[int]], value: int, length: int | None = None) -> np.ndarray:
    width = max(1, length or max(len(row) for row in rows))
    padded = np.full((len(rows), width), value, dtype=np.int64)
    for position, row in enumerate(rows):
        padded[position, : len(row)] = row
    return padded


__all__ = ["Seq2SeqNerDataCollator"]
