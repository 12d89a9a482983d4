"""Logits -> token-level entity spans. Shared by the processor (text offsets) and the Trainer metrics."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

Item = TypeVar("Item")


def probabilities(logits) -> np.ndarray:
    """Sigmoid of logits given as a torch tensor (any dtype, any device) or a numpy array."""
    if hasattr(logits, "detach"):
        logits = logits.detach().float().cpu().numpy()
    # tanh form of the sigmoid: no overflow for large negative logits
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(logits, dtype=np.float32)))


def decode_spans(
    start_logits, end_logits, span_logits, threshold: float = 0.5
) -> list[list[tuple[int, int, int, float]]]:
    """Entities of every row: spans whose start, end and span-match probabilities all exceed `threshold`.

    Args:
        start_logits, end_logits: [rows, context, types].
        span_logits: [rows, context, max_span, types]; `[r, i, k, t]` is the span from token i to i + k.
        threshold: probability each of the three scores must exceed.

    Returns:
        Per row, `(type position, first token, last token, score)` with the last token inclusive and the score the
        geometric mean of the three probabilities, as a Python float. Nested and overlapping spans are all kept.

    Example:
        >>> import numpy as np
        >>> start = np.array([[[5.0], [-5.0]]]); end = np.array([[[-5.0], [5.0]]])
        >>> span = np.full((1, 2, 2, 1), -5.0); span[0, 0, 1, 0] = 5.0
        >>> decode_spans(start, end, span)[0][0][:3]
        (0, 0, 1)
    """
    start, end, span = probabilities(start_logits), probabilities(end_logits), probabilities(span_logits)
    max_span = span.shape[2]
    padded_end = np.pad(end, ((0, 0), (0, max_span - 1), (0, 0)))
    # end_at[r, i, t, k] = end[r, i + k, t]
    end_at = np.lib.stride_tricks.sliding_window_view(padded_end, max_span, axis=1)
    end_at = end_at.transpose(0, 1, 3, 2)  # [rows, context, max_span, types]
    found = (start[:, :, None, :] > threshold) & (end_at > threshold) & (span > threshold)
    rows, firsts, widths, types = np.nonzero(found)
    scores = np.cbrt(
        start[rows, firsts, types] * end_at[rows, firsts, widths, types] * span[rows, firsts, widths, types]
    )
    decoded: list[list[tuple[int, int, int, float]]] = [[] for _ in range(start.shape[0])]
    for row, first, width, type_pos, score in zip(rows, firsts, widths, types, scores):
        decoded[int(row)].append((int(type_pos), int(first), int(first + width), float(score)))
    return decoded


class _DisjointBounds:
    """Pairwise non-overlapping (start, end) bounds, sorted, in blocks of at most `2 * BLOCK`: finding the bounds
    before a point and inserting cost a binary search and a short list move, so n of each cost O(n log n) in all.

    Two bounds overlap when each starts before the other ends. These never overlap, so sorted by (start, end) their
    ends never decrease either: new bounds overlap one of them exactly when the last that starts before the new end
    also ends after the new start."""

    BLOCK = 256

    def __init__(self) -> None:
        self.blocks: list[list[tuple[int, int]]] = []
        self.firsts: list[tuple[int, int]] = []  # each block's first bounds

    def overlaps(self, start: int, end: int) -> bool:
        block = bisect.bisect_left(self.firsts, (end, -math.inf)) - 1  # the last block starting before `end`
        if block < 0:
            return False
        bounds = self.blocks[block]
        return bounds[bisect.bisect_left(bounds, (end, -math.inf)) - 1][1] > start

    def add(self, start: int, end: int) -> None:
        if not self.blocks:
            self.blocks, self.firsts = [[(start, end)]], [(start, end)]
            return
        block = max(bisect.bisect_right(self.firsts, (start, end)) - 1, 0)
        bounds = self.blocks[block]
        bisect.insort(bounds, (start, end))
        self.firsts[block] = bounds[0]
        if len(bounds) > 2 * self.BLOCK:
            self.blocks.insert(block + 1, bounds[self.BLOCK :])
            self.firsts.insert(block + 1, bounds[self.BLOCK])
            del bounds[self.BLOCK :]


def keep_non_overlapping(
    items: Sequence[Item], bounds: Callable[[Item], tuple[int, int]], score: Callable[[Item], float]
) -> list[Item]:
    """Highest score first (ties: the earlier item), the items whose `bounds` (start, end exclusive) overlap no item
    kept before; returned in order of their bounds. O(n log n): 50,000 random entities take 0.1 s here
    (`benchmarks/overlaps.py`), where checking each against every kept item was quadratic.

    Example:
        >>> keep_non_overlapping([(0, 5, 0.9), (3, 8, 0.95), (8, 9, 0.1)], lambda i: i[:2], lambda i: i[2])
        [(3, 8, 0.95), (8, 9, 0.1)]
    """
    kept: list[Item] = []
    taken = _DisjointBounds()
    for item in sorted(items, key=score, reverse=True):
        start, end = bounds(item)
        if not taken.overlaps(start, end):
            kept.append(item)
            taken.add(start, end)
    return sorted(kept, key=bounds)
