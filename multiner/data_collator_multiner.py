"""Pads Multi-NER features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .modeling_core import LABEL_PAD
from .query_modes_multiner import query_mode_of

# Fields of every query mode besides the context masks and labels: padded sequences, per-row scalars.
SEQUENCE_FIELDS = ("input_ids", "token_type_ids")
ROW_FIELDS = ("input_signature",)


@dataclass
class MultiNerDataCollator:
    """Dynamic padding of the rows `MultiNerProcessor.preprocess` writes; pure: it knows a pad id and the fields of
    a query mode (from the query-mode registry), nothing of the processor.

    Every row has `input_ids` (optionally `token_type_ids`), `start_mask` / `end_mask` [context], optionally
    `labels` as (type, first, last) token triples and `input_signature`; the query mode adds its own fields (per
    type: sequences [types][seq] and `context_start` [types]; packed: one sequence [seq], the query block and
    `query_spans` [types][2]). Sequences are padded to the longest in the batch, contexts likewise, gold entities with
    -100; `attention_mask` and `context_mask` come from the lengths.

    Args:
        pad_token_id: the tokenizer's padding id.
        query_mode: the model's `config.query_mode`.
        pad_to_multiple_of: round the padded sequence length up to a multiple of this.
        return_tensors: only `"pt"`.

    Example:
        >>> collator = MultiNerDataCollator.from_processor(processor)  # doctest: +SKIP
        >>> Trainer(model=model, train_dataset=train, data_collator=collator, args=args).train()  # doctest: +SKIP
    """

    pad_token_id: int
    query_mode: str = "per_type"
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        if self.return_tensors != "pt":
            raise ValueError(
                f"MultiNerDataCollator returns PyTorch tensors only, got return_tensors={self.return_tensors!r}."
            )
        if not isinstance(self.pad_token_id, int) or isinstance(self.pad_token_id, bool):
            raise ValueError(
                f"MultiNerDataCollator pad_token_id={self.pad_token_id!r} must be an integer: the tokenizer needs a "
                "padding token (tokenizer.pad_token_id)."
            )
        self.fields = query_mode_of(self.query_mode).fields

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any) -> MultiNerDataCollator:
        """The collator for a processor's features: its tokenizer's pad id and its (the model's) query mode."""
        return cls(processor.tokenizer.pad_token_id, processor.query_mode, **kwargs)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("MultiNerDataCollator got an empty list of features.")
        shape: tuple[int, ...] = (len(features),)
        if self.fields.type_axis:
            types = len(features[0]["input_ids"])
            if any(len(feature["input_ids"]) != types for feature in features):
                raise ValueError("All rows of a batch must hold the same entity types (the same number of sequences).")
            shape = (len(features), types)
        padded: dict[str, np.ndarray] = {}
        for name in SEQUENCE_FIELDS:
            if name not in features[0]:
                continue
            rows = [feature[name] for feature in features]
            sequences = [sequence for row in rows for sequence in row] if self.fields.type_axis else rows
            pad_value = self.pad_token_id if name == "input_ids" else 0
            length = _round_up(max(len(sequence) for sequence in sequences), self.pad_to_multiple_of)
            values, mask = _pad(sequences, pad_value, length)
            padded[name] = values.reshape(*shape, -1)
            if name == "input_ids":
                padded["attention_mask"] = mask.reshape(*shape, -1)
        for name in self.fields.blocks:
            if name in features[0]:
                # The same sequence in every row, with no attention mask: never padded.
                blocks = [feature[name] for feature in features]
                if any(len(block) != len(blocks[0]) for block in blocks):
                    raise ValueError(f"All rows of a batch must share one {name}; build them with one processor.")
                padded[name] = np.array(blocks, dtype=np.int64)
        for name in (*self.fields.arrays, *ROW_FIELDS):
            if name in features[0]:
                padded[name] = np.array([feature[name] for feature in features], dtype=np.int64)
        padded["start_mask"], padded["context_mask"] = _pad([feature["start_mask"] for feature in features])
        padded["end_mask"] = _pad([feature["end_mask"] for feature in features])[0]
        if "labels" in features[0]:
            padded["labels"] = _pad_labels([feature["labels"] for feature in features])
        return {name: torch.from_numpy(values) for name, values in padded.items()}


def _pad(
    sequences: Sequence[Sequence[int]], value: int = 0, length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences padded to `length` (default: the longest), and the 0/1 mask of real positions."""
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


__all__ = ["MultiNerDataCollator"]
