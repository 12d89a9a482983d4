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

    Each row holds one sequence per entity type (`input_ids`, optionally `token_type_ids`: [types][seq]),
    `context_start` [types], `start_mask` / `end_mask` [context], and optionally `labels` as
    (type, first, last) token triples. The batch pads sequences to the longest in it, contexts likewise, and gold
    entities with -100; `attention_mask` and `context_mask` are derived from the lengths.

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
        batch, types = len(features), len(features[0]["input_ids"])
        if any(len(feature["input_ids"]) != types for feature in features):
            raise ValueError("All rows of a batch must hold the same entity types (the same number of sequences).")
        seq = _round_up(max(len(ids) for feature in features for ids in feature["input_ids"]), self.pad_to_multiple_of)
        context = max(len(feature["start_mask"]) for feature in features)

        input_ids = np.full((batch, types, seq), self.processor.tokenizer.pad_token_id, dtype=np.int64)
        attention_mask = np.zeros((batch, types, seq), dtype=np.int64)
        with_type_ids = "token_type_ids" in features[0]
        token_type_ids = np.zeros((batch, types, seq), dtype=np.int64)
        context_mask = np.zeros((batch, context), dtype=np.int64)
        start_mask = np.zeros((batch, context), dtype=np.int64)
        end_mask = np.zeros((batch, context), dtype=np.int64)
        for row, feature in enumerate(features):
            for type_pos, ids in enumerate(feature["input_ids"]):
                input_ids[row, type_pos, : len(ids)] = ids
                attention_mask[row, type_pos, : len(ids)] = 1
                if with_type_ids:
                    token_type_ids[row, type_pos, : len(ids)] = feature["token_type_ids"][type_pos]
            length = len(feature["start_mask"])
            context_mask[row, :length] = 1
            start_mask[row, :length] = feature["start_mask"]
            end_mask[row, :length] = feature["end_mask"]

        padded = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "context_start": np.array([feature["context_start"] for feature in features], dtype=np.int64),
            "context_mask": context_mask,
            "start_mask": start_mask,
            "end_mask": end_mask,
        }
        if with_type_ids:
            padded["token_type_ids"] = token_type_ids
        if "labels" in features[0]:
            padded["labels"] = _pad_labels([feature["labels"] for feature in features])
        return {name: torch.from_numpy(values) for name, values in padded.items()}


def _pad_labels(labels: Sequence[Sequence[Sequence[int]]]) -> np.ndarray:
    width = max(1, max(len(entities) for entities in labels))
    padded = np.full((len(labels), width, 3), LABEL_PAD, dtype=np.int64)
    for row, entities in enumerate(labels):
        if len(entities):
            padded[row, : len(entities)] = entities
    return padded


def _round_up(length: int, multiple: int | None) -> int:
    return length if not multiple else -(-length // multiple) * multiple
