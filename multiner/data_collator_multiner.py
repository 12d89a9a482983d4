"""Pads Multi-NER features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .processing_core import PaddingCollator, pad_sequences, pad_triples, pad_words
from .query_modes_multiner import query_mode_of

# Fields of every query mode besides the context masks and labels: padded sequences.
SEQUENCE_FIELDS = ("input_ids", "token_type_ids")


@dataclass
class MultiNerDataCollator(PaddingCollator):
    """Dynamic padding of the rows `MultiNerProcessor.preprocess` writes; pure: it knows a pad id and the fields of
    a query mode (from the query-mode registry), nothing of the processor.

    Every row has `input_ids` (optionally `token_type_ids`), `start_mask` / `end_mask` (and with casing features
    `casing_ids`) [context], with character features `char_ids` [context][characters], optionally `labels` as
    (type, first, last) token triples and `input_signature`; the query mode adds its own fields (per type: sequences
    [types][seq] and `context_start` [types]; packed: one sequence [seq], the query block and `query_spans`
    [types][2]). Sequences are padded to the longest in the batch, contexts likewise (`char_ids` with 0), gold
    entities with -100; `attention_mask` and `context_mask` come from the lengths.

    Args:
        pad_token_id: the tokenizer's padding id.
        query_mode: the model's `config.query_mode`.
        pad_to_multiple_of: round the padded sequence length up to a multiple of this.
        return_tensors: only `"pt"`.

    Example:
        >>> collator = MultiNerDataCollator.from_processor(processor)  # doctest: +SKIP
        >>> Trainer(model=model, train_dataset=train, data_collator=collator, args=args).train()  # doctest: +SKIP
    """

    query_mode: str = "per_type"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.fields = query_mode_of(self.query_mode).fields

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any) -> MultiNerDataCollator:
        """The collator for a processor's features: its tokenizer's pad id and its (the model's) query mode."""
        return cls(processor.tokenizer.pad_token_id, query_mode=processor.query_mode, **kwargs)

    def _padded(self, features: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
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
            values, mask = pad_sequences(sequences, pad_value, self._length(sequences))
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
        for name in self.fields.arrays:
            if name in features[0]:
                padded[name] = np.array([feature[name] for feature in features], dtype=np.int64)
        padded["start_mask"], padded["context_mask"] = pad_sequences([feature["start_mask"] for feature in features])
        padded["end_mask"] = pad_sequences([feature["end_mask"] for feature in features])[0]
        if "casing_ids" in features[0]:
            padded["casing_ids"] = pad_sequences([feature["casing_ids"] for feature in features])[0]
        if "char_ids" in features[0]:
            padded["char_ids"] = pad_words([feature["char_ids"] for feature in features])
        if "labels" in features[0]:
            padded["labels"] = pad_triples([feature["labels"] for feature in features])
        return padded


__all__ = ["MultiNerDataCollator"]
