"""Family-neutral pipeline machinery: option checks, and running lists, datasets and generators of texts in groups
whose windows go through the model a bounded number at a time."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

# Texts per group and windows per forward pass when no batch_size is given: bounds memory on texts of any length.
DEFAULT_BATCH_SIZE = 8


def unknown_option(pipeline_name: str, name: str, options: Sequence[str]) -> TypeError:
    """The TypeError for an unknown call option, with the closest known one as a suggestion."""
    close = difflib.get_close_matches(name, options, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return TypeError(f"{pipeline_name} got an unknown option {name!r}.{hint} Its options are {', '.join(options)}.")


def check_counts(options: dict) -> None:
    """`batch_size` (when given) must be a positive int, `num_workers` a non-negative one."""
    for name, minimum in (("batch_size", 1), ("num_workers", 0)):
        value = options.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
        if value < minimum:
            raise ValueError(f"{name}={value!r} must be at least {minimum}.")


def chunks(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last one shorter)."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_grouped(inputs: Any, size: int, run: Callable[[list, list[int]], list]) -> Iterator:
    """Results of `run(texts, indices)` over groups of `size` inputs, one result per input, in the inputs' order.

    A list is run shortest text first, so that a group holds texts of similar length and little padding; datasets
    and generators stream in their own order. `indices` are the texts' positions in the caller's inputs."""
    if not isinstance(inputs, (list, tuple)):
        start = 0
        for texts in chunks(inputs, size):
            yield from run(texts, list(range(start, start + len(texts))))
            start += len(texts)
        return
    order = sorted(range(len(inputs)), key=lambda index: len(inputs[index]) if isinstance(inputs[index], str) else 0)
    results: list = [None] * len(inputs)
    for positions in chunks(order, size):
        for position, result in zip(positions, run([inputs[i] for i in positions], positions)):
            results[position] = result
    yield from results


__all__ = ["DEFAULT_BATCH_SIZE", "check_counts", "chunks", "run_grouped", "unknown_option"]
