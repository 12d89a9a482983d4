"""The family-neutral text machinery: input checks, character/word <-> token alignment, windows over long contexts,
merging window predictions back, and the counting of gold entities a model cannot represent.

Every model family of the package builds on these; nothing here knows about queries, tags or decoders. A context is
one input tokenized once, without special tokens; a window is a slice of its tokens that fits the model; entities
travel as `(label, first token, last token)` spans in context coordinates and come back as the HF schema
`{"entity_group", "score", "word", "start", "end"}` in the input's own offsets.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# Why a gold entity can be left out of a model's labels; the keys are the counters' keys.
UNREPRESENTABLE_REASONS = {
    "misaligned": "its start or end falls inside a word (no token boundary there)",
    "too_long": "it spans more tokens than max_span_length",
    "window": "it fits in no window of max_length tokens",
}


class UnrepresentableEntityWarning(UserWarning):
    """Gold entities that the model cannot represent were left out of the labels (counted, never silently)."""


# ----------------------------------------------------------------------------------------------------- inputs

_SURROGATE = re.compile("[\ud800-\udfff]")


def is_single_example(examples: Mapping[str, Any]) -> bool:
    """A batch (from `map(batched=True)`) holds lists of texts or lists of word lists; anything else is one example."""
    if "text" in examples:
        return not isinstance(examples["text"], (list, tuple))
    words = examples.get("tokens")
    return not isinstance(words, (list, tuple)) or not words or not isinstance(words[0], (list, tuple))


def sources_of(batch: Mapping[str, Any], numbers: Sequence[int] | None = None) -> list[str | list[str]]:
    """The checked `text` or `tokens` column of a batch of examples (errors name them by `numbers`, default
    0, 1, ...)."""
    if ("text" in batch) == ("tokens" in batch):
        raise ValueError("Each example needs exactly one of 'text' (a string) or 'tokens' (a list of words).")
    sources = batch["text"] if "text" in batch else batch["tokens"]
    numbers = range(len(sources)) if numbers is None else numbers
    return [checked_source(source, number) for number, source in zip(numbers, sources)]


def example_numbers(count: int, indices: int | Sequence[int] | None) -> list[int]:
    """The numbers that name the `count` examples of a `preprocess` call in its errors: `indices` as
    `dataset.map(..., with_indices=True)` passes them (the dataset's row numbers), else their positions in the call."""
    if indices is None:
        return list(range(count))
    numbers = [indices] if isinstance(indices, int) else list(indices)
    if len(numbers) != count:
        raise ValueError(f"preprocess got {len(numbers)} indices for {count} examples; give one index per example.")
    return numbers


@contextmanager
def naming_dataset_rows(indices: int | Sequence[int] | None):
    """Inside `preprocess`: an input's error, when the call had no `indices`, says that its number counts within the
    call (a `dataset.map` batch), and how to get the dataset's row numbers instead."""
    try:
        yield
    except ValueError as error:
        if indices is None and str(error).startswith("Input "):
            raise ValueError(
                f"{error} (Inputs are numbered within this call, i.e. within a dataset.map batch; for the dataset's "
                "row numbers, map with with_indices=True: dataset.map(processor.preprocess, batched=True, "
                "with_indices=True).)"
            ) from None
        raise


def what_was_given(value: Any) -> str:
    """`got ...` for an input that is not text, with what to pass instead where the mistake is a common one."""
    if value is None:
        return "got None"
    if isinstance(value, (bytes, bytearray)):
        return "got bytes; decode them to a string first (value.decode('utf-8'))"
    if isinstance(value, Mapping):
        return "got a dict; pass its text (row['text']), or for a dataset KeyDataset(dataset, 'text')"
    if hasattr(value, "tolist"):  # numpy arrays, torch tensors
        return f"got a {type(value).__module__}.{type(value).__name__}; pass a list of strings (value.tolist())"
    return f"got {type(value).__name__} {value!r:.60}"


def check_no_surrogate(text: str, index: int) -> None:
    """A `ValueError` naming `index` when `text` holds a lone surrogate (no character: text decoded with
    errors='surrogateescape'), which no tokenizer can read."""
    surrogate = _SURROGATE.search(text)
    if surrogate:
        raise ValueError(
            f"Input {index} holds a lone surrogate {surrogate.group()!r} at offset {surrogate.start()}, which is "
            "no character (text decoded with errors='surrogateescape'?); decode the text properly or replace it."
        )


def checked_source(source: Any, index: int) -> str | list[str]:
    """A non-empty text, or a non-empty list of non-empty words; anything else is a `ValueError` naming `index`."""
    if isinstance(source, str):
        if not source.strip():
            raise ValueError(f"Input {index} is an empty or whitespace-only text; give text to search for entities.")
        check_no_surrogate(source, index)
        return source
    if isinstance(source, Sequence) and source and all(isinstance(word, str) and word for word in source):
        for word in source:
            check_no_surrogate(word, index)
        return list(source)
    raise ValueError(
        f"Input {index} must be a non-empty string or a non-empty list of non-empty words, got {source!r:.80}."
    )


def checked_entity(entity: Any, index: int, limit: int, entity_types: Sequence[str]) -> tuple[int, int, str]:
    """`(start, end, label)` of a gold entity dict, after checking its keys, offsets and label."""
    if not isinstance(entity, Mapping) or not {"start", "end", "label"} <= set(entity):
        raise ValueError(f"Input {index}: each entity must be a dict with 'start', 'end' and 'label', got {entity!r}.")
    start, end, label = entity["start"], entity["end"], entity["label"]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
        raise ValueError(f"Input {index}: entity offsets must be integers, got start={start!r}, end={end!r}.")
    if not 0 <= start < end <= limit:
        raise ValueError(
            f"Input {index}: entity {entity!r} lies outside the input of length {limit}; offsets need "
            "0 <= start < end <= length, end exclusive (characters for text, words for tokens)."
        )
    if label not in entity_types:
        raise ValueError(f"Input {index}: unknown entity type {label!r}; the model's types are {list(entity_types)}.")
    return start, end, label


def check_character_boundaries(text: str, start: int, end: int, index: int) -> None:
    """Offsets must not split a character: no combining mark or low surrogate right after a boundary."""
    for offset in (start, end):
        if offset < len(text) and (unicodedata.combining(text[offset]) or "\udc00" <= text[offset] <= "\udfff"):
            raise ValueError(
                f"Input {index}: offset {offset} splits a character ({text[max(offset - 1, 0) : offset + 1]!r}); "
                "offsets must be Python string indices on character boundaries (not byte offsets)."
            )


# -------------------------------------------------------------------------------------------------- alignment


@dataclass(frozen=True)
class Context:
    """One input tokenized once, without special tokens. `offsets[i]` is token i's span in the input's unit:
    characters for a text, words (w, w + 1) for a list of words; `word_first` / `word_last` mark the first and last
    sub-token of each word."""

    source: str | list[str]
    ids: list[int]
    offsets: list[tuple[int, int]]
    word_first: list[bool]
    word_last: list[bool]

    def fragment(self, start: int, end: int) -> str:
        """The input between two offsets: the text itself, or the words joined by spaces."""
        return self.source[start:end] if isinstance(self.source, str) else " ".join(self.source[start:end])


def tokenize_context(tokenizer, source: str | list[str], index: int, allow_empty: bool = False) -> Context | None:
    """Tokenize a checked text or word list whole (its length is no error: windows come later).

    A source that gives no tokens at all (only characters the tokenizer drops: control or zero-width characters) is
    a `ValueError` naming `index`, or None with `allow_empty=True`.

    Example:
        >>> context = tokenize_context(tokenizer, "Ada Lovelace", 0)  # doctest: +SKIP
        >>> context.offsets  # doctest: +SKIP
        [(0, 3), (4, 8), (8, 12)]
    """
    is_text = isinstance(source, str)
    encoding = tokenizer(
        source,
        is_split_into_words=not is_text,
        add_special_tokens=False,
        return_offsets_mapping=True,
        verbose=False,
    )
    word_ids = encoding.word_ids()
    if not word_ids:
        if allow_empty:
            return None
        raise ValueError(f"Input {index} gives no tokens (only characters the tokenizer drops): {source!r:.80}.")
    if is_text:
        offsets = with_trailing_marks(source, [tuple(offset) for offset in encoding["offset_mapping"]])
    else:
        offsets = [(w, w + 1) for w in word_ids]
    word_first = [i == 0 or word_ids[i - 1] != word for i, word in enumerate(word_ids)]
    word_last = [i == len(word_ids) - 1 or word_ids[i + 1] != word for i, word in enumerate(word_ids)]
    return Context(source, list(encoding["input_ids"]), offsets, word_first, word_last)


def with_trailing_marks(text: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token offsets whose ends take in the combining marks that follow them, up to the next token: a tokenizer that
    strips accents (any uncased BERT) leaves a decomposed accent (NFD) outside every token, so `"Londo\u0301n\u0301"`
    would otherwise end before its last accent, and a gold entity ending after it would match no token end.

    Example:
        >>> with_trailing_marks("Cafe\u0301, ok", [(0, 4), (5, 6), (7, 9)])
        [(0, 5), (5, 6), (7, 9)]
    """
    extended = []
    for position, (start, end) in enumerate(offsets):
        limit = offsets[position + 1][0] if position + 1 < len(offsets) else len(text)
        while end < limit and unicodedata.combining(text[end]):
            end += 1
        extended.append((start, end))
    return extended


def word_of_token(context: Context) -> list[int]:
    """The word (counted from 0) each token of a context belongs to."""
    words, current = [], -1
    for first in context.word_first:
        current += first
        words.append(current)
    return words


def window_word_tokens(context: Context, window: Window) -> tuple[list[int], list[int]]:
    """First and last token (window coordinates) of each word of a window."""
    firsts = [i for i in range(window.stop - window.start) if context.word_first[window.start + i]]
    lasts = [i for i in range(window.stop - window.start) if context.word_last[window.start + i]]
    return firsts, lasts


class TokenAlignment:
    """Gold offsets of one context mapped to its tokens (every family's one gold alignment): `tokens(start, end)` is
    the (first, last) token of the offsets, or None when either end is not a word boundary; offsets that split a
    character of a text are a `ValueError` naming input `index`."""

    def __init__(self, context: Context, index: int):
        self.context, self.index = context, index
        self._first = {context.offsets[i][0]: i for i, first in enumerate(context.word_first) if first}
        self._last = {context.offsets[i][1]: i for i, last in enumerate(context.word_last) if last}

    def tokens(self, start: int, end: int) -> tuple[int, int] | None:
        if isinstance(self.context.source, str):
            check_character_boundaries(self.context.source, start, end, self.index)
        first, last = self._first.get(start), self._last.get(end)
        return None if first is None or last is None or last < first else (first, last)


def entity_token_spans(
    context: Context,
    entities: Sequence[Mapping[str, Any]] | None,
    index: int,
    entity_types: Sequence[str],
    max_span_length: int,
    skipped: Counter,
) -> list[tuple[int, int, int]]:
    """`(type position, first token, last token)` of every representable gold entity, sorted and deduplicated.

    An entity whose start or end is not a word boundary, or that is longer than `max_span_length` tokens, is counted
    in `skipped` under its reason (see `UNREPRESENTABLE_REASONS`) instead.
    """
    alignment = TokenAlignment(context, index)
    spans = set()
    for entity in entities or []:
        start, end, label = checked_entity(entity, index, len(context.source), entity_types)
        tokens = alignment.tokens(start, end)
        if tokens is None:
            skipped["misaligned"] += 1
        elif tokens[1] - tokens[0] >= max_span_length:
            skipped["too_long"] += 1
        else:
            spans.add((list(entity_types).index(label), *tokens))
    return sorted(spans)


def report_unrepresentable(
    skipped: Counter,
    totals: Counter,
    reasons: Mapping[str, str] = UNREPRESENTABLE_REASONS,
    what: str = "gold entities",
) -> None:
    """Add `skipped` to `totals` and warn with the counts per reason (nothing when nothing was skipped); `reasons`
    explains each counter key, `what` names what was counted."""
    skipped = +skipped
    if not skipped:
        return
    totals.update(skipped)
    details = "; ".join(f"{count} because {reasons[reason]}" for reason, count in sorted(skipped.items()))
    warnings.warn(
        f"{sum(skipped.values())} {what} cannot be represented and are not in the labels: {details}. "
        "Totals so far are in processor.unrepresentable.",
        UnrepresentableEntityWarning,
        stacklevel=3,
    )


def check_threshold(threshold: Any, name: str = "threshold") -> None:
    """A decoding threshold must be a number in [0, 1): TypeError or ValueError naming it otherwise."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1), got {threshold!r} ({type(threshold).__name__}).")
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"{name}={threshold!r} must be a probability in [0, 1).")


def count_stored_unrepresentable(rows, column: str, reasons: Mapping[str, str]) -> Counter:
    """The per-reason counts a processor stored in `column` of preprocessed `rows` (a `Dataset` or a dict of
    columns), summed; exact under `dataset.map(..., num_proc=N)` and from the map cache."""
    columns = rows.column_names if hasattr(rows, "column_names") else list(rows)
    if column not in columns:
        raise ValueError(
            f"These rows have no {column!r} column: count them before removing it, on the output of "
            "processor.preprocess."
        )
    totals = Counter()
    for counts in rows[column]:
        totals.update(dict(zip(reasons, counts)))
    return +totals


# ---------------------------------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """Tokens [start, stop) of context `example`; whether it overlaps the windows before and after it."""

    example: int
    start: int
    stop: int
    overlaps_previous: bool
    overlaps_next: bool

    def holds(self, first: int, last: int) -> bool:
        """Whether context tokens first..last (inclusive) lie inside this window."""
        return self.start <= first and last < self.stop

    def sees_whole(self, first: int, last: int) -> bool:
        """Whether tokens first..last lie inside this window, off any edge where it was cut."""
        on_cut = (first == self.start and self.overlaps_previous) or (last == self.stop - 1 and self.overlaps_next)
        return self.holds(first, last) and not on_cut


def make_windows(context: Context, example: int, size: int, stride: int) -> list[Window]:
    """Windows of at most `size` tokens, cut at word starts, consecutive ones sharing about `stride` tokens.

    Example:
        >>> context = Context("a b c d", [1, 2, 3, 4], [(0, 1), (2, 3), (4, 5), (6, 7)], [True] * 4, [True] * 4)
        >>> [(w.start, w.stop) for w in make_windows(context, 0, size=3, stride=1)]
        [(0, 3), (2, 4)]
    """
    total = len(context.ids)
    bounds = []
    start = 0
    while True:
        stop = min(start + size, total)
        if stop < total:
            boundary = stop
            while boundary > start + 1 and not context.word_first[boundary]:
                boundary -= 1
            stop = boundary if context.word_first[boundary] else stop
        bounds.append((start, stop))
        if stop == total:
            break
        next_start = max(stop - stride, start + 1)
        while next_start < stop and not context.word_first[next_start]:
            next_start += 1
        start = next_start
    return [
        Window(
            example,
            start,
            stop,
            overlaps_previous=position > 0 and bounds[position - 1][1] > start,
            overlaps_next=position + 1 < len(bounds) and bounds[position + 1][0] < stop,
        )
        for position, (start, stop) in enumerate(bounds)
    ]


def read_inputs(
    tokenizer,
    text: str | Sequence[str] | None,
    tokens: Sequence | None,
    indices: Sequence[int] | None,
    allow_empty: bool,
    window_size: int,
    stride: int,
) -> tuple[list[Context | None], list[Window]]:
    """Inference inputs tokenized once and cut into windows: one `Context` per text (or word list) and the windows
    of all of them in order. `indices` name the inputs in errors (default 0, 1, ...); with `allow_empty`, an empty,
    whitespace-only or unreadable input gets no context (None) and no windows instead of an error."""
    if (text is None) == (tokens is None):
        raise ValueError("Give exactly one of text= (strings) or tokens= (lists of words).")
    if text is not None:
        if not isinstance(text, (str, list, tuple)):
            raise TypeError(f"text= takes a string or a list of strings; {what_was_given(text)}.")
        sources = [text] if isinstance(text, str) else list(text)
    else:
        if not isinstance(tokens, (list, tuple)):
            hint = "; for a text use text=" if isinstance(tokens, str) else ""
            raise TypeError(f"tokens= takes a list of words or a list of word lists; {what_was_given(tokens)}{hint}.")
        sources = [list(tokens)] if tokens and isinstance(tokens[0], str) else list(tokens)
    indices = list(range(len(sources))) if indices is None else list(indices)
    # every input is checked before any is tokenized: a bad last one costs no work
    checked: list[str | list[str] | None] = []
    for index, source in zip(indices, sources):
        if tokens is not None and not isinstance(source, (list, tuple)):
            raise ValueError(f"Input {index}: tokens= takes lists of words; {what_was_given(source)}.")
        empty = source == [] or (isinstance(source, str) and not source.strip())
        checked.append(None if allow_empty and empty else checked_source(source, index))
    contexts: list[Context | None] = [
        None if source is None else tokenize_context(tokenizer, source, index, allow_empty=allow_empty)
        for index, source in zip(indices, checked)
    ]
    windows = [
        window
        for position, context in enumerate(contexts)
        if context is not None
        for window in make_windows(context, position, window_size, stride)
    ]
    return contexts, windows


class WindowMerge:
    """What the windows of several inputs found, merged per input (every family's one rule): an item on a window edge
    where the window was cut may be part of one cut in two, so it counts only when no other window of its input sees
    it whole; an item found in several windows keeps its highest score. `best[i]` maps input i's keys to scores."""

    def __init__(self, windows: Sequence[Window], inputs: int):
        self.best: list[dict] = [{} for _ in range(inputs)]
        self._windows_of: dict[int, list[Window]] = {}
        for window in windows:
            self._windows_of.setdefault(window.example, []).append(window)

    def add(self, window: Window, first: int, last: int, key: Any, score: float) -> bool:
        """Count an item that `window` found on its input's tokens `first..last` (inclusive, in the input's
        coordinates) under `key`; False when a window that sees it whole decides instead."""
        if not window.sees_whole(first, last) and any(
            other.sees_whole(first, last) for other in self._windows_of[window.example]
        ):
            return False
        best = self.best[window.example]
        best[key] = max(score, best.get(key, 0.0))
        return True


def merge_window_spans(
    windows: Sequence[Window],
    spans_per_window: Sequence[Sequence[tuple[str, int, int, float]]],
    contexts: Sequence[Context],
) -> list[dict[tuple[str, int, int], float]]:
    """Per context, `(label, start offset, end offset) -> best score` from spans `(label, first, last, score)` found
    in its windows (window token coordinates, last inclusive), merged by `WindowMerge`."""
    merge = WindowMerge(windows, len(contexts))
    for window, spans in zip(windows, spans_per_window):
        context = contexts[window.example]
        for label, first, last, score in spans:
            first, last = window.start + first, window.start + last
            merge.add(window, first, last, (label, context.offsets[first][0], context.offsets[last][1]), score)
    return merge.best


def entity_dicts(context: Context, found: Mapping[tuple[str, int, int], float]) -> list[dict]:
    """The HF schema of merged spans, sorted by start: `{"entity_group", "score", "word", "start", "end"}` with
    Python floats and `word == context.fragment(start, end)`."""
    entities = [
        {
            "entity_group": label,
            "score": float(score),
            "word": context.fragment(start, end),
            "start": start,
            "end": end,
        }
        for (label, start, end), score in found.items()
    ]
    return sorted(entities, key=lambda entity: (entity["start"], entity["end"], entity["entity_group"]))


__all__ = [
    "UNREPRESENTABLE_REASONS",
    "Context",
    "UnrepresentableEntityWarning",
    "TokenAlignment",
    "Window",
    "WindowMerge",
    "check_character_boundaries",
    "check_threshold",
    "checked_entity",
    "check_no_surrogate",
    "checked_source",
    "count_stored_unrepresentable",
    "entity_dicts",
    "entity_token_spans",
    "is_single_example",
    "make_windows",
    "merge_window_spans",
    "read_inputs",
    "report_unrepresentable",
    "sources_of",
    "tokenize_context",
    "what_was_given",
    "with_trailing_marks",
    "window_word_tokens",
    "word_of_token",
]
