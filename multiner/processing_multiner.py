"""MultiNerProcessor: type queries around any fast tokenizer, texts -> model features, logits -> entities."""

from __future__ import annotations

import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, ProcessorMixin

from .configuration_multiner import QUERY_MODES
from .data_collator import LABEL_PAD, MultiNerDataCollator
from .decoding import decode_spans, keep_non_overlapping

# Annotation-guideline queries (BERT-MRC, Li et al. 2020) for the CoNLL-2003 and GENIA label sets.
DEFAULT_QUERIES = {
    "PER": "person entities are named persons or family.",
    "ORG": "organization entities are limited to named corporate, governmental, or other organizational entities.",
    "LOC": "location entities are the name of politically or geographically defined locations such as cities, "
    "provinces, countries, international regions, bodies of water, mountains.",
    "MISC": "examples of miscellaneous entities include events, nationalities, products and works of art.",
    "DNA": "deoxyribonucleic acid",
    "RNA": "ribonucleic acid",
    "protein": "protein",
    "cell_line": "cell line",
    "cell_type": "cell type",
}
QUERY_TEMPLATE = "find all {name} entities in the text."

PROCESSOR_CONFIG_NAME = "processor_config.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

REASONS = {
    "misaligned": "its start or end falls inside a word (no token boundary there)",
    "too_long": "it spans more tokens than max_span_length",
    "window": "it fits in no window of max_length tokens",
}


class UnrepresentableEntityWarning(UserWarning):
    """Gold entities that the model cannot represent were left out of the labels (counted, never silently)."""


def default_query(entity_type: str) -> str:
    """The built-in query of a label: a guideline definition for CoNLL-2003 / GENIA labels, else a template.

    Example:
        >>> default_query("cell_line")
        'cell line'
        >>> default_query("Drug_Name")
        'find all drug name entities in the text.'
    """
    if entity_type in DEFAULT_QUERIES:
        return DEFAULT_QUERIES[entity_type]
    return QUERY_TEMPLATE.format(name=entity_type.replace("_", " ").replace("-", " ").lower())


@dataclass(frozen=True)
class Context:
    """One input tokenized once. `offsets[i]` is token i's span in the input's unit: characters for a text, words
    (i, i + 1) for a list of words."""

    source: str | list[str]
    ids: list[int]
    offsets: list[tuple[int, int]]
    word_first: list[bool]
    word_last: list[bool]

    def fragment(self, start: int, end: int) -> str:
        return self.source[start:end] if isinstance(self.source, str) else " ".join(self.source[start:end])


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


@dataclass(frozen=True)
class QueryLayout:
    """Special tokens and query of one entity type: sequence = head + context + tail; the query's own tokens are
    head[query_start:query_stop] (before them the start tokens, after them the separator)."""

    head_ids: list[int]
    head_type_ids: list[int]
    context_type_id: int
    tail_ids: list[int]
    tail_type_ids: list[int]
    query_start: int
    query_stop: int


class PerTypeQueries:
    """query_mode "per_type": one `head + context + tail` sequence per entity type."""

    input_names = ["context_start"]

    def __init__(self, layouts: Mapping[str, QueryLayout], with_type_ids: bool):
        self.layouts, self.with_type_ids = layouts, with_type_ids
        longest = max(layouts, key=lambda name: len(layouts[name].head_ids))
        self.taken = len(layouts[longest].head_ids) + max(len(layout.tail_ids) for layout in layouts.values())
        self.taker = f"The query of {longest!r} takes"

    def features(self, context_ids: list[int], entity_types: list[str]) -> dict[str, list]:
        input_ids, token_type_ids, context_start = [], [], []
        for name in entity_types:
            layout = self.layouts[name]
            input_ids.append(layout.head_ids + context_ids + layout.tail_ids)
            token_type_ids.append(
                layout.head_type_ids + [layout.context_type_id] * len(context_ids) + layout.tail_type_ids
            )
            context_start.append(len(layout.head_ids))
        features = {"input_ids": input_ids, "context_start": context_start}
        if self.with_type_ids:
            features["token_type_ids"] = token_type_ids
        return features


class PackedQueries:
    """query_mode "packed": one block of all queries (start tokens, then each query and its separator) and one
    `context + tail` sequence per window. The block always holds every type's query, so the context reads the
    queries it was trained with; `query_spans` says where the requested types' queries lie in it."""

    input_names = ["query_input_ids", "query_spans"]

    def __init__(self, layouts: Mapping[str, QueryLayout], with_type_ids: bool):
        self.with_type_ids = with_type_ids
        self.layout = first = next(iter(layouts.values()))
        self.ids, self.type_ids = first.head_ids[: first.query_start], first.head_type_ids[: first.query_start]
        self.spans = {}
        for name, layout in layouts.items():
            self.spans[name] = [len(self.ids), len(self.ids) + layout.query_stop - layout.query_start]
            self.ids = self.ids + layout.head_ids[layout.query_start :]
            self.type_ids = self.type_ids + layout.head_type_ids[layout.query_start :]
        self.taken = len(self.ids) + len(first.tail_ids)
        self.taker = f"The packed queries of all {len(layouts)} entity types take"
        if with_type_ids:
            self.input_names = self.input_names + ["query_token_type_ids"]

    def features(self, context_ids: list[int], entity_types: list[str]) -> dict[str, list]:
        features = {
            "input_ids": context_ids + self.layout.tail_ids,
            "query_input_ids": self.ids,
            "query_spans": [self.spans[name] for name in entity_types],
        }
        if self.with_type_ids:
            features["token_type_ids"] = [self.layout.context_type_id] * len(context_ids) + self.layout.tail_type_ids
            features["query_token_type_ids"] = self.type_ids
        return features


QUERY_MODE_CLASSES = {"per_type": PerTypeQueries, "packed": PackedQueries}


class MultiNerBatch(dict):
    """Model inputs (the dict itself, so `model(**batch)` works) plus what `decode` needs to map predictions back to
    the inputs (attributes: `windows`, `contexts`, `entity_types`)."""

    def __init__(
        self, inputs: Mapping[str, Any], windows: list[Window], contexts: list[Context], entity_types: list[str]
    ):
        super().__init__(inputs)
        self.windows = windows
        self.contexts = contexts
        self.entity_types = entity_types

    def to(self, device) -> MultiNerBatch:
        moved = {name: value.to(device) if hasattr(value, "to") else value for name, value in self.items()}
        return MultiNerBatch(moved, self.windows, self.contexts, self.entity_types)


class MultiNerProcessor(ProcessorMixin):
    """Builds the per-type `[CLS] query [SEP] context [SEP]` sequences around a fast tokenizer and maps predictions
    back to character (or word) offsets.

    Inputs are texts with character-offset entities `{"start", "end", "label"}` (end exclusive), or pre-tokenized
    `tokens` with word-index entities. Contexts longer than the window are split into overlapping windows.

    With `query_mode="packed"` every window is one sequence: `[CLS] q_1 [SEP] q_2 [SEP] ... q_T [SEP]` (the query
    block, the same for every window) followed by `context [SEP]`; the window then leaves room for all the queries.

    Args:
        tokenizer: a fast (Rust-backed) tokenizer; offsets come from it.
        entity_types: the entity types, in the model's order.
        queries: query text per type; types without one get `default_query(type)`.
        max_length: longest sequence (query, context and special tokens) given to the encoder.
        stride: tokens shared by consecutive windows of a long context.
        max_span_length: longest entity in tokens; must equal the model's `config.max_span_length`.
        query_mode: `"per_type"` (one sequence per type) or `"packed"`; must equal the model's `config.query_mode`.

    Example:
        >>> processor = MultiNerProcessor.from_encoder(entity_types=["PER", "LOC"])  # doctest: +SKIP
        >>> batch = processor(["Ada Lovelace was born in London."])  # doctest: +SKIP
        >>> processor.decode(model(**batch), batch)  # doctest: +SKIP
        [[{'entity_group': 'PER', 'score': 0.97, 'word': 'Ada Lovelace', 'start': 0, 'end': 12}, ...]]
    """

    tokenizer_class = "AutoTokenizer"

    def __init__(
        self,
        tokenizer,
        entity_types: Sequence[str] | None = None,
        queries: Mapping[str, str] | None = None,
        max_length: int = 256,
        stride: int = 64,
        max_span_length: int = 32,
        query_mode: str = "per_type",
    ):
        super().__init__(tokenizer)
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(
                f"MultiNerProcessor needs a fast tokenizer for character offsets, got {type(tokenizer).__name__}; "
                "load it with AutoTokenizer.from_pretrained(..., use_fast=True)."
            )
        if not entity_types:
            raise ValueError("MultiNerProcessor needs entity_types, e.g. ['PER', 'LOC', 'ORG', 'MISC'].")
        unknown = sorted(set(queries or {}) - set(entity_types))
        if unknown:
            raise ValueError(
                f"queries given for unknown entity types {unknown}; entity_types are {list(entity_types)}."
            )
        for name, value in {"max_length": max_length, "max_span_length": max_span_length}.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"MultiNerProcessor {name}={value!r} must be a positive integer.")
        if not isinstance(stride, int) or stride < 0:
            raise ValueError(f"MultiNerProcessor stride={stride!r} must be a non-negative integer.")
        if query_mode not in QUERY_MODES:
            raise ValueError(f"MultiNerProcessor query_mode={query_mode!r} is not allowed; use one of {QUERY_MODES}.")
        self.entity_types = list(entity_types)
        self.queries = {name: (queries or {}).get(name) or default_query(name) for name in self.entity_types}
        self.max_length = max_length
        self.stride = stride
        self.max_span_length = max_span_length
        self.query_mode = query_mode
        self.unrepresentable: Counter = Counter()
        self._uses_token_type_ids = "token_type_ids" in tokenizer.model_input_names
        layouts = {name: self._query_layout(self.queries[name]) for name in self.entity_types}
        self._queries = QUERY_MODE_CLASSES[query_mode](layouts, self._uses_token_type_ids)
        self._window_size = self._context_capacity()

    @classmethod
    def from_encoder(
        cls, encoder_name_or_path: str | None = None, entity_types: Sequence[str] | None = None, **kwargs
    ) -> MultiNerProcessor:
        """A processor around the tokenizer of an encoder (default: the packaged all-MiniLM-L6-v2).

        Example:
            >>> processor = MultiNerProcessor.from_encoder(entity_types=["PER", "LOC"], queries={"PER": "people"})
            >>> processor.queries["PER"]
            'people'
        """
        if encoder_name_or_path is None:
            from .configuration_multiner import default_encoder_path

            encoder_name_or_path = default_encoder_path()
        tokenizer = AutoTokenizer.from_pretrained(encoder_name_or_path)
        return cls(tokenizer, entity_types=entity_types, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> MultiNerProcessor:
        """Load a processor saved with `save_pretrained` (a local folder or a Hub repository)."""
        folder = Path(pretrained_model_name_or_path)
        if folder.is_dir():
            missing = [] if (folder / PROCESSOR_CONFIG_NAME).is_file() else [PROCESSOR_CONFIG_NAME]
            if not any((folder / name).is_file() for name in TOKENIZER_FILES):
                missing.append(" or ".join(TOKENIZER_FILES))
            if missing:
                raise FileNotFoundError(
                    f"{folder} is not a complete MultiNerProcessor checkpoint: missing {', '.join(missing)}. "
                    "Save the processor beside the model with processor.save_pretrained(folder)."
                )
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    # ----------------------------------------------------------------------------------------------- features

    def preprocess(self, examples: Mapping[str, Any]) -> dict[str, list]:
        """Model features with labels, for `datasets.Dataset.map`.

        Takes one example or a batch (`batched=True`, needed when a context is longer than one window) with `text`
        or `tokens`, and `entities` as `{"start", "end", "label"}` dicts. Returns one row per window. Gold entities
        the model cannot represent are counted in `self.unrepresentable` and reported with a warning.

        Example:
            >>> columns = dataset.column_names  # doctest: +SKIP
            >>> train = dataset.map(processor.preprocess, batched=True, remove_columns=columns)  # doctest: +SKIP
        """
        single = _is_single_example(examples)
        batch = {name: [value] for name, value in examples.items()} if single else examples
        sources = self._sources(batch)
        if "entities" not in batch:
            raise ValueError("preprocess needs an 'entities' column of {'start', 'end', 'label'} dicts per example.")
        contexts = [self._context(source, index) for index, source in enumerate(sources)]
        rows: dict[str, list] = {}
        skipped: Counter = Counter()
        for index, (context, entities) in enumerate(zip(contexts, batch["entities"])):
            spans = self._entity_token_spans(context, entities, index, skipped)
            windows = self._windows(context, index)
            placed = set()
            for window in windows:
                features = self._features(context, window, self.entity_types)
                held = [span for span in spans if window.holds(span[1], span[2])]
                labels = [[type_pos, first - window.start, last - window.start] for type_pos, first, last in held]
                placed.update(held)
                _unmask_cut_entities(features, window, spans, labels)
                _append_row(rows, features, labels)
            skipped["window"] += len(set(spans) - placed)
        if single and len(rows["input_ids"]) != 1:
            raise ValueError(
                f"The example needs {len(rows['input_ids'])} windows of max_length={self.max_length} tokens; "
                "call dataset.map(processor.preprocess, batched=True) so one example can give several rows."
            )
        self._report(skipped)
        return {name: values[0] for name, values in rows.items()} if single else rows

    def __call__(
        self,
        text: str | Sequence[str] | None = None,
        tokens: Sequence[str] | Sequence[Sequence[str]] | None = None,
        entity_types: Sequence[str] | None = None,
        return_tensors: str = "pt",
    ) -> MultiNerBatch:
        """Inference inputs for texts (or pre-tokenized word lists), padded into one batch.

        Args:
            text: a text or a list of texts.
            tokens: instead of text, a list of words or a list of such lists.
            entity_types: a subset of `self.entity_types` to query (fewer encoder passes); all by default.
            return_tensors: `"pt"`.

        Returns:
            A [`MultiNerBatch`]: `model(**batch)` runs the model, `processor.decode(outputs, batch)` reads entities.
        """
        if (text is None) == (tokens is None):
            raise ValueError("Give exactly one of text= (strings) or tokens= (lists of words).")
        if text is not None:
            sources = [text] if isinstance(text, str) else list(text)
        else:
            sources = [list(tokens)] if tokens and isinstance(tokens[0], str) else [list(words) for words in tokens]
        selected = self._select_types(entity_types)
        contexts = [self._context(self._checked_source(source, index), index) for index, source in enumerate(sources)]
        windows = [window for index, context in enumerate(contexts) for window in self._windows(context, index)]
        features = [self._features(contexts[window.example], window, selected) for window in windows]
        inputs = MultiNerDataCollator(self, return_tensors=return_tensors)(features)
        if selected != self.entity_types:
            import torch

            inputs["entity_type_ids"] = torch.tensor([self.entity_types.index(name) for name in selected])
        return MultiNerBatch(inputs, windows, contexts, selected)

    # ----------------------------------------------------------------------------------------------- decoding

    def decode(self, outputs, batch: MultiNerBatch, threshold: float = 0.5, flat: bool = False) -> list[list[dict]]:
        """Entities per input, in the input's offsets, from the model outputs on `batch`.

        Args:
            outputs: a [`MultiNerOutput`] (or anything with `start_logits`, `end_logits`, `span_logits`).
            batch: the [`MultiNerBatch`] the outputs were computed on.
            threshold: probability the start, end and span-match scores must each exceed.
            flat: keep only the highest-scoring non-overlapping entities (flat NER); nested by default.

        Returns:
            Per input, a list of `{"entity_group", "score", "word", "start", "end"}` sorted by start: `start`/`end`
            are character offsets (end exclusive) for texts, word indices for `tokens`; `score` is a Python float;
            `word` is the covered text (words joined by spaces for `tokens`). Entities found in several overlapping
            windows are merged, keeping the highest score.
        """
        if outputs.span_logits.shape[2] != self.max_span_length:
            raise ValueError(
                f"The model scores spans up to {outputs.span_logits.shape[2]} tokens but the processor's "
                f"max_span_length is {self.max_span_length}; build the processor with the model's max_span_length."
            )
        windows_of: dict[int, list[Window]] = {}
        for window in batch.windows:
            windows_of.setdefault(window.example, []).append(window)
        best: list[dict[tuple[str, int, int], float]] = [{} for _ in batch.contexts]
        spans_per_window = decode_spans(outputs.start_logits, outputs.end_logits, outputs.span_logits, threshold)
        for window, spans in zip(batch.windows, spans_per_window):
            context = batch.contexts[window.example]
            for type_pos, first, last, score in spans:
                first, last = window.start + first, window.start + last
                # A span on a cut edge may be part of an entity cut in two: trust a window that sees it whole.
                if not window.sees_whole(first, last) and any(
                    other.sees_whole(first, last) for other in windows_of[window.example]
                ):
                    continue
                key = (batch.entity_types[type_pos], context.offsets[first][0], context.offsets[last][1])
                best[window.example][key] = max(score, best[window.example].get(key, 0.0))
        results = []
        for context, found in zip(batch.contexts, best):
            entities = [
                {
                    "entity_group": label,
                    "score": score,
                    "word": context.fragment(start, end),
                    "start": start,
                    "end": end,
                }
                for (label, start, end), score in found.items()
            ]
            if flat:
                entities = keep_non_overlapping(entities, lambda e: (e["start"], e["end"]), lambda e: e["score"])
            results.append(sorted(entities, key=lambda e: (e["start"], e["end"], e["entity_group"])))
        return results

    def check_model_config(self, config) -> None:
        """Raise if a model's config does not match this processor (entity types, query mode, span length)."""
        if list(config.entity_types) != self.entity_types:
            raise ValueError(
                f"The processor's entity_types {self.entity_types} differ from the model's "
                f"{list(config.entity_types)}; "
                "use the processor saved with the model, or build one with the model's entity_types in that order."
            )
        model_mode = getattr(config, "query_mode", "per_type")
        if model_mode != self.query_mode:
            raise ValueError(
                f"The processor's query_mode={self.query_mode!r} differs from the model's {model_mode!r}; build the "
                "processor with the model's query_mode."
            )
        if config.max_span_length != self.max_span_length:
            raise ValueError(
                f"The processor's max_span_length={self.max_span_length} differs from the model's "
                f"{config.max_span_length}; build the processor with the model's value."
            )

    @property
    def model_input_names(self) -> list[str]:
        names = ["input_ids", "attention_mask", "context_mask", "start_mask", "end_mask"]
        type_ids = ["token_type_ids"] if self._uses_token_type_ids else []
        return names + type_ids + self._queries.input_names

    # ----------------------------------------------------------------------------------------------- internals

    def _query_layout(self, query: str) -> QueryLayout:
        encoding = self.tokenizer(query, "x")
        sequence_ids = encoding.sequence_ids()
        context_positions = [position for position, sequence in enumerate(sequence_ids) if sequence == 1]
        first, last = context_positions[0], context_positions[-1]
        ids = encoding["input_ids"]
        type_ids = encoding.get("token_type_ids") or [0] * len(ids)
        query_positions = [position for position, sequence in enumerate(sequence_ids) if sequence == 0]
        return QueryLayout(
            ids[:first],
            type_ids[:first],
            type_ids[first],
            ids[last + 1 :],
            type_ids[last + 1 :],
            query_positions[0],
            query_positions[-1] + 1,
        )

    def _context_capacity(self) -> int:
        capacity = self.max_length - self._queries.taken
        if capacity <= self.stride:
            raise ValueError(
                f"{self._queries.taker} {self._queries.taken} of max_length={self.max_length} tokens (with the "
                f"special tokens), leaving {max(capacity, 0)} for the context (stride={self.stride}); shorten the "
                "queries or raise max_length."
            )
        return capacity

    def _select_types(self, entity_types: Sequence[str] | None) -> list[str]:
        if entity_types is None:
            return self.entity_types
        unknown = [name for name in entity_types if name not in self.entity_types]
        if unknown or not entity_types:
            raise ValueError(f"Unknown entity types {unknown}; choose from {self.entity_types}.")
        return [name for name in self.entity_types if name in set(entity_types)]

    def _sources(self, batch: Mapping[str, Any]) -> list[str | list[str]]:
        if ("text" in batch) == ("tokens" in batch):
            raise ValueError("Each example needs exactly one of 'text' (a string) or 'tokens' (a list of words).")
        sources = batch["text"] if "text" in batch else batch["tokens"]
        return [self._checked_source(source, index) for index, source in enumerate(sources)]

    @staticmethod
    def _checked_source(source: Any, index: int) -> str | list[str]:
        if isinstance(source, str):
            if not source.strip():
                raise ValueError(
                    f"Input {index} is an empty or whitespace-only text; give text to search for entities."
                )
            return source
        if isinstance(source, Sequence) and source and all(isinstance(word, str) and word for word in source):
            return list(source)
        raise ValueError(
            f"Input {index} must be a non-empty string or a non-empty list of non-empty words, got {source!r:.80}."
        )

    def _context(self, source: str | list[str], index: int) -> Context:
        is_text = isinstance(source, str)
        # The whole context is tokenized at once and split into windows later, so its length is no error.
        encoding = self.tokenizer(
            source,
            is_split_into_words=not is_text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            verbose=False,
        )
        word_ids = encoding.word_ids()
        if not word_ids:
            raise ValueError(f"Input {index} gives no tokens (only characters the tokenizer drops): {source!r:.80}.")
        offsets = (
            [tuple(offset) for offset in encoding["offset_mapping"]] if is_text else [(w, w + 1) for w in word_ids]
        )
        word_first = [i == 0 or word_ids[i - 1] != word for i, word in enumerate(word_ids)]
        word_last = [i == len(word_ids) - 1 or word_ids[i + 1] != word for i, word in enumerate(word_ids)]
        return Context(source, list(encoding["input_ids"]), offsets, word_first, word_last)

    def _entity_token_spans(
        self, context: Context, entities: Sequence[Mapping[str, Any]], index: int, skipped: Counter
    ) -> list[tuple[int, int, int]]:
        """(type position, first token, last token) of every representable gold entity; the rest are counted."""
        limit = len(context.source)
        first_token = {context.offsets[i][0]: i for i, first in enumerate(context.word_first) if first}
        last_token = {context.offsets[i][1]: i for i, last in enumerate(context.word_last) if last}
        spans = set()
        for entity in entities or []:
            start, end, label = _checked_entity(entity, index, limit, self.entity_types)
            if isinstance(context.source, str):
                _check_character_boundaries(context.source, start, end, index)
            first, last = first_token.get(start), last_token.get(end)
            if first is None or last is None or last < first:
                skipped["misaligned"] += 1
            elif last - first >= self.max_span_length:
                skipped["too_long"] += 1
            else:
                spans.add((self.entity_types.index(label), first, last))
        return sorted(spans)

    def _windows(self, context: Context, index: int) -> list[Window]:
        """Windows of at most the context capacity, cut at word starts, consecutive ones sharing ~stride tokens."""
        total, size = len(context.ids), self._window_size
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
            next_start = max(stop - self.stride, start + 1)
            while next_start < stop and not context.word_first[next_start]:
                next_start += 1
            start = next_start
        return [
            Window(
                index,
                start,
                stop,
                overlaps_previous=position > 0 and bounds[position - 1][1] > start,
                overlaps_next=position + 1 < len(bounds) and bounds[position + 1][0] < stop,
            )
            for position, (start, stop) in enumerate(bounds)
        ]

    def _features(self, context: Context, window: Window, entity_types: list[str]) -> dict[str, list]:
        return {
            **self._queries.features(context.ids[window.start : window.stop], entity_types),
            "start_mask": [int(flag) for flag in context.word_first[window.start : window.stop]],
            "end_mask": [int(flag) for flag in context.word_last[window.start : window.stop]],
        }

    def _report(self, skipped: Counter) -> None:
        skipped = +skipped
        if not skipped:
            return
        self.unrepresentable.update(skipped)
        details = "; ".join(f"{count} because {REASONS[reason]}" for reason, count in sorted(skipped.items()))
        warnings.warn(
            f"{sum(skipped.values())} gold entities cannot be represented and are not in the labels: {details}. "
            "Totals so far are in processor.unrepresentable.",
            UnrepresentableEntityWarning,
            stacklevel=3,
        )


def _unmask_cut_entities(
    features: dict[str, list], window: Window, spans: list[tuple[int, int, int]], labels: list[list[int]]
) -> None:
    """An entity cut by the window's edge has its start (or end) inside the window but no label there: take that
    token out of the window's start (end) loss rather than teach it as a non-boundary. The entity is labelled in the
    window that holds it whole. A token that also starts (ends) an entity labelled here keeps its mask."""
    labelled_starts = {first for _, first, _ in labels}
    labelled_ends = {last for _, _, last in labels}
    for _, first, last in spans:
        if window.start <= first < window.stop <= last and first - window.start not in labelled_starts:
            features["start_mask"][first - window.start] = 0
        if first < window.start <= last < window.stop and last - window.start not in labelled_ends:
            features["end_mask"][last - window.start] = 0


def _append_row(rows: dict[str, list], features: dict[str, list], labels: list[list[int]]) -> None:
    # A window without entities holds one padding triple, so Arrow infers the column type from any batch.
    labels = labels or [[LABEL_PAD] * 3]
    for name, value in {**features, "labels": labels}.items():
        rows.setdefault(name, []).append(value)


def _is_single_example(examples: Mapping[str, Any]) -> bool:
    """A batch (from `map(batched=True)`) holds lists of texts or lists of word lists; anything else is one example."""
    if "text" in examples:
        return not isinstance(examples["text"], (list, tuple))
    words = examples.get("tokens")
    return not isinstance(words, (list, tuple)) or not words or not isinstance(words[0], (list, tuple))


def _checked_entity(entity: Any, index: int, limit: int, entity_types: list[str]) -> tuple[int, int, str]:
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
        raise ValueError(f"Input {index}: unknown entity type {label!r}; the processor's types are {entity_types}.")
    return start, end, label


def _check_character_boundaries(text: str, start: int, end: int, index: int) -> None:
    """Offsets must not split a character: no combining mark or low surrogate right after a boundary."""
    for offset in (start, end):
        if offset < len(text) and (unicodedata.combining(text[offset]) or "\udc00" <= text[offset] <= "\udfff"):
            raise ValueError(
                f"Input {index}: offset {offset} splits a character ({text[max(offset - 1, 0) : offset + 1]!r}); "
                "offsets must be Python string indices on character boundaries (not byte offsets)."
            )


__all__ = ["DEFAULT_QUERIES", "MultiNerBatch", "MultiNerProcessor", "UnrepresentableEntityWarning", "default_query"]
