"""Logits -> token-level entity spans. Shared by the processor (text offsets) and the Trainer metrics."""

from __future__ import annotations

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


def keep_non_overlapping(
    items: Sequence[Item], bounds: Callable[[Item], tuple[int, int]], score: Callable[[Item], float]
) -> list[Item]:
    """Highest score first, the items whose `bounds` (start, end exclusive) overlap no item kept before."""
    kept: list[Item] = []
    taken: list[tuple[int, int]] = []
    for item in sorted(items, key=score, reverse=True):
        start, end = bounds(item)
        if all(end <= other_start or other_end <= start for other_start, other_end in taken):
            kept.append(item)
            taken.append((start, end))
    return sorted(kept, key=bounds)
