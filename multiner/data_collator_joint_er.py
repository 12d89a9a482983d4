"""Pads joint entity-relation features into batches; works as the `data_collator` of a stock `Trainer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .processing_core import PaddingCollator, pad_sequences, pad_triples, pad_words


@dataclass
class JointErDataCollator(PaddingCollator):
    """Dynamic padding of the rows `JointErProcessor.preprocess` writes; pure: it knows a pad id, nothing else.

    Every row has `input_ids` and `word_ids` [seq] (the window word of each token, -1 for special tokens; with
    casing features also `casing_ids` [seq]; with character features `char_ids` [words][characters]), and
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

    def _padded(self, features: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        for row, feature in enumerate(features):
            if len(feature["word_ids"]) != len(feature["input_ids"]):
                raise ValueError(
                    f"Row {row}: word_ids has {len(feature['word_ids'])} items for {len(feature['input_ids'])} tokens."
                )
        length = self._length([feature["input_ids"] for feature in features])
        input_ids, attention_mask = pad_sequences([f["input_ids"] for f in features], self.pad_token_id, length)
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "word_ids": pad_sequences([feature["word_ids"] for feature in features], -1, length)[0],
        }
        if "casing_ids" in features[0]:
            batch["casing_ids"] = pad_sequences([feature["casing_ids"] for feature in features], 0, length)[0]
        if "char_ids" in features[0]:
            batch["char_ids"] = pad_words([feature["char_ids"] for feature in features])
        for name in ("labels", "relation_labels"):
            if name in features[0]:
                batch[name] = pad_triples([feature[name] for feature in features])
        return batch


__all__ = ["JointErDataCollator"]
