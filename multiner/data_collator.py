"""Pads Multi-NER features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

LABEL_PAD = -100


@dataclass
class MultiNerDataCollator:
    """Dynamic padding of the rows `MultiNerProcessor.preprocess` writes.

    Each row holds one sequence per entity type (`input_ids`, optionally `token_type_ids`: [types][seq]) and
    `context_start` [types], or, in the packed query mode, one context sequence [seq] with the query block
    (`query_input_ids`, optionally `query_token_type_ids`) and `query_spans` [types][2]; then `start_mask` /
    `end_mask` [context] and optionally `labels` as (type, first, last) token triples. The batch pads sequences to
    the longest in it, contexts likewise, and gold entities with -100; `attention_mask` and `context_mask` are
    derived from the lengths.

    Args:
        processor: the `MultiNerProcessor` that wrote the rows (gives the padding token).
        pad_to_multiple_of: round the padded sequence length up to a multiple of this.
        return_tensors: only `"pt"`.

    Example:
        >>> collator = MultiNerDataCollator(processor)  # doctest: +SKIP
        >>> Trainer(model=model, train_dataset=train, data_collator=collator, args=args).train()  # doctest: +SKIP
    """

    processor: Any
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        if self.return_tensors != "pt":
            raise ValueError(
                f"MultiNerDataCollator returns PyTorch tensors only, got return_tensors={self.return_tensors!r}."
            )

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("MultiNerDataCollator got an empty list of features.")
        packed = "query_input_ids" in features[0]
        if packed:
            # One context sequence per row; the query block and each type's place in it ride along.
            shape: tuple[int, ...] = (len(features),)
        else:
            types = len(features[0]["input_ids"])
            if any(len(feature["input_ids"]) != types for feature in features):
                raise ValueError("All rows of a batch must hold the same entity types (the same number of sequences).")
            shape = (len(features), types)

        def sequences(name: str) -> list[Sequence[int]]:
            rows = [feature[name] for feature in features]
            return rows if packed else [sequence for row in rows for sequence in row]

        input_ids, attention_mask = self._pad(sequences("input_ids"), self.processor.tokenizer.pad_token_id)
        padded = {"input_ids": input_ids.reshape(*shape, -1), "attention_mask": attention_mask.reshape(*shape, -1)}
        if "token_type_ids" in features[0]:
            padded["token_type_ids"] = self._pad(sequences("token_type_ids"), 0)[0].reshape(*shape, -1)
        if packed:
            # The block is the same in every row and has no attention mask: never padded (pad_to_multiple_of too).
            pad_id = self.processor.tokenizer.pad_token_id
            padded["query_input_ids"] = _pad_plain([feature["query_input_ids"] for feature in features], pad_id)[0]
            if "query_token_type_ids" in features[0]:
                query_types = [feature["query_token_type_ids"] for feature in features]
                padded["query_token_type_ids"] = _pad_plain(query_types)[0]
            padded["query_spans"] = np.array([feature["query_spans"] for feature in features], dtype=np.int64)
        else:
            padded["context_start"] = np.array([feature["context_start"] for feature in features], dtype=np.int64)
        start_mask, context_mask = _pad_plain([feature["start_mask"] for feature in features])
        padded.update(context_mask=context_mask, start_mask=start_mask)
        padded["end_mask"] = _pad_plain([feature["end_mask"] for feature in features])[0]
        if "labels" in features[0]:
            padded["labels"] = _pad_labels([feature["labels"] for feature in features])
        return {name: torch.from_numpy(values) for name, values in padded.items()}

    def _pad(self, sequences: Sequence[Sequence[int]], value: int) -> tuple[np.ndarray, np.ndarray]:
        """Sequences padded to the longest (rounded up to `pad_to_multiple_of`), and the 0/1 mask of real tokens."""
        length = _round_up(max(len(sequence) for sequence in sequences), self.pad_to_multiple_of)
        return _pad_plain(sequences, value, length)


def _pad_plain(
    sequences: Sequence[Sequence[int]], value: int = 0, length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    length = length if length is not None else max(len(sequence) for sequence in sequences)
    values = np.full((len(sequences), length), value, dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        values[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return values, mask


def _pad_labels(labels: Sequence[Sequence[Sequence[int]]]) -> np.ndarray:
    width = max(1, max(len(entities) for entities in labels))
    padded = np.full((len(labels), width, 3), LABEL_PAD, dtype=np.int64)
    for row, entities in enumerate(labels):
        if len(entities):
            padded[row, : len(entities)] = entities
    return padded


def _round_up(length: int, multiple: int | None) -> int:
    return length if not multiple else -(-length // multiple) * multiple
