"""Pads seq2seq pointer features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .modeling_core import LABEL_PAD
from .processing_core import PaddingCollator, pad_sequences


@dataclass
class Seq2SeqNerDataCollator(PaddingCollator):
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

    def _padded(self, features: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        length = self._length([feature["input_ids"] for feature in features])
        input_ids, attention_mask = pad_sequences([f["input_ids"] for f in features], self.pad_token_id, length)
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "word_index": pad_sequences([feature["word_index"] for feature in features], -1)[0],
        }
        if "labels" in features[0]:
            batch["labels"] = pad_sequences([feature["labels"] for feature in features], LABEL_PAD)[0]
        if "relation_labels" in features[0]:
            batch["relation_labels"] = _pair_grid(features, batch["word_index"].shape[1])
        return batch


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


__all__ = ["Seq2SeqNerDataCollator"]
