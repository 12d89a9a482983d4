"""MultiNerProcessor: type queries around any fast tokenizer, texts -> model features, logits -> entities."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .configuration_multiner import MultiNerConfig
from .data_collator_multiner import MultiNerDataCollator
from .decoding import decode_spans, keep_non_overlapping
from .modeling_core import LABEL_PAD
from .processing_core import WindowedBatch, WindowedProcessor, WindowedTexts
from .query_modes_multiner import query_layout, query_mode_of
from .text_core import (
    UNREPRESENTABLE_REASONS,
    Context,
    UnrepresentableEntityWarning,
    Window,
    check_threshold,
    entity_dicts,
    entity_token_spans,
    make_windows,
    merge_window_spans,
)
from .word_features import token_word_chars

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


@dataclass
class MultiNerTexts(WindowedTexts):
    """Inputs tokenized once and cut into windows (what `processor.tokenize` returns): one `Context` per input (None
    for an input with nothing to read, when empty inputs were allowed), the windows of all of them in order, and the
    entity types to query."""

    entity_types: list[str] = field(default_factory=list)


class MultiNerBatch(WindowedBatch):
    """Model inputs (the dict itself, so `model(**batch)` works) plus what `decode` needs to map predictions back to
    the inputs (attributes: `windows`, the windows of these rows; `contexts`, all inputs; `entity_types`)."""

    def __init__(
        self, inputs: Mapping[str, Any], windows: list[Window], contexts: list[Context], entity_types: list[str]
    ):
        super().__init__(inputs, windows, contexts)
        self.entity_types = entity_types

    def to(self, device) -> MultiNerBatch:
        moved = {name: value.to(device) if hasattr(value, "to") else value for name, value in self.items()}
        return MultiNerBatch(moved, self.windows, self.contexts, self.entity_types)


class MultiNerProcessor(WindowedProcessor):
    """Builds the query + context sequences of a Multi-NER model around a fast tokenizer and maps predictions back to
    character (or word) offsets.

    The model's config owns the entity types (names and order), the query mode and `max_span_length`: the processor
    reads them from it (`from_pretrained(model folder)`, `from_model(model)`) and never takes them a second time. Its
    own settings are the queries and the window (`max_length`, `stride`), saved in `processor_config.json`.

    Inputs are texts with character-offset entities `{"start", "end", "label"}` (end exclusive), or pre-tokenized
    `tokens` with word-index entities. Contexts longer than a window are split into overlapping windows (text core).

    Args:
        tokenizer: a fast (Rust-backed) tokenizer; offsets come from it.
        model_config: the model's [`MultiNerConfig`].
        queries: query text per type; types without one get `default_query(type)`.
        max_length: longest sequence (queries, context and special tokens) given to the encoder.
        stride: tokens shared by consecutive windows of a long context.

    Example:
        >>> processor = MultiNerProcessor.from_model(model, queries={"PER": "people"})  # doctest: +SKIP
        >>> batch = processor(["Ada Lovelace was born in London."])  # doctest: +SKIP
        >>> processor.decode(model(**batch), batch)  # doctest: +SKIP
        [[{'entity_group': 'PER', 'score': 0.97, 'word': 'Ada Lovelace', 'start': 0, 'end': 12}, ...]]
    """

    config_class = MultiNerConfig
    collator_class = MultiNerDataCollator
    texts_class = MultiNerTexts
    batch_class = MultiNerBatch
    owned_settings = "the entity types, query mode and span length"
    reasons = UNREPRESENTABLE_REASONS
    missing_entities = "preprocess needs an 'entities' column of {'start', 'end', 'label'} dicts per example."

    def __init__(
        self,
        tokenizer,
        model_config: MultiNerConfig | None = None,
        queries: Mapping[str, str] | None = None,
        max_length: int = 256,
        stride: int = 64,
    ):
        self.queries = dict(queries or {})  # completed by `_set_up` from the model's entity types
        super().__init__(tokenizer, model_config, max_length, stride)

    def _set_up(self) -> None:
        config = self._model_config
        if not config.entity_types:
            raise ValueError("The model config has no entity_types; give MultiNerConfig(entity_types=[...]).")
        unknown = sorted(set(self.queries) - set(config.entity_types))
        if unknown:
            raise ValueError(
                f"queries given for unknown entity types {unknown}; the model's entity_types are "
                f"{config.entity_types}."
            )
        self.queries = {name: self.queries.get(name) or default_query(name) for name in self.entity_types}
        self._uses_token_type_ids = "token_type_ids" in self.tokenizer.model_input_names
        layouts = {name: query_layout(self.tokenizer, self.queries[name]) for name in self.entity_types}
        self._layout = query_mode_of(self.query_mode).layout(layouts, self._uses_token_type_ids)

    # The settings the model owns, read from its config (and `model_config`, `entity_types`).
    @property
    def query_mode(self) -> str:
        return self._model_config.query_mode

    @property
    def threshold(self) -> float:
        """The decision threshold when the caller gives none: the model's calibrated `decision_threshold`, else 0.5."""
        return self._model_config.threshold

    def decision_threshold(self, threshold: float | None = None) -> float:
        """The family's one decision point for the threshold: `threshold` checked, or when None the model's
        (`config.decision_threshold`, calibrated at the end of training, else 0.5). The pipeline's span pruning and
        `window_results` both ask here."""
        threshold = self.threshold if threshold is None else threshold
        check_threshold(threshold)
        return threshold

    @property
    def max_span_length(self) -> int:
        return self._model_config.max_span_length

    def _example_rows(self, context: Context, example: dict, index: int, skipped: Counter) -> list[dict]:
        spans = entity_token_spans(
            context, example["entities"], index, self.entity_types, self.max_span_length, skipped
        )
        windows = make_windows(context, index, self._window_size, self.stride)
        held_per_window = [[span for span in spans if window.holds(span[1], span[2])] for window in windows]
        skipped["window"] += len(set(spans).difference(*held_per_window))
        rows = []
        for window, held in zip(windows, held_per_window):
            features = self._features(context, window, self.entity_types)
            labels = [[type_pos, first - window.start, last - window.start] for type_pos, first, last in held]
            _unmask_cut_entities(features, window, spans, labels)
            # a window without entities holds one padding triple, so Arrow infers the column type from any batch
            rows.append({**features, "labels": labels or [[LABEL_PAD] * 3]})
        return rows

    def __call__(
        self,
        text: str | Sequence[str] | None = None,
        tokens: Sequence[str] | Sequence[Sequence[str]] | None = None,
        entity_types: Sequence[str] | None = None,
        return_tensors: str = "pt",
    ) -> MultiNerBatch:
        """Inference inputs for texts (or pre-tokenized word lists): all their windows, padded into one batch.

        Args:
            text: a text or a list of texts.
            tokens: instead of text, a list of words or a list of such lists.
            entity_types: a subset of `self.entity_types` to query (fewer encoder passes); all by default.
            return_tensors: `"pt"`.

        Returns:
            A [`MultiNerBatch`]: `model(**batch)` runs the model, `processor.decode(outputs, batch)` reads entities.
            For long texts, `tokenize` + `batches` bound the windows per forward pass (what the pipeline does).
        """
        texts = self.tokenize(text=text, tokens=tokens, entity_types=entity_types)
        return next(self.batches(texts, windows_per_batch=None, return_tensors=return_tensors))

    def tokenize(
        self,
        text: str | Sequence[str] | None = None,
        tokens: Sequence[str] | Sequence[Sequence[str]] | None = None,
        entity_types: Sequence[str] | None = None,
        indices: Sequence[int] | None = None,
        allow_empty: bool = False,
    ) -> MultiNerTexts:
        """Tokenize inputs once and cut them into windows; no features yet (see `batches`).

        Args:
            text, tokens, entity_types: as in `__call__`.
            indices: the inputs' positions in the caller's list, used in error messages (default 0, 1, ...).
            allow_empty: give an empty, whitespace-only or unreadable input (no tokens) no context and no windows
                instead of raising; it decodes to `[]`.
        """
        selected = self.selected_types(entity_types)
        texts = super().tokenize(text=text, tokens=tokens, indices=indices, allow_empty=allow_empty)
        texts.entity_types = selected
        return texts

    def _collator(self, return_tensors: str) -> MultiNerDataCollator:
        return MultiNerDataCollator(
            self.tokenizer.pad_token_id, query_mode=self.query_mode, return_tensors=return_tensors
        )

    def _window_features(self, texts: MultiNerTexts, window: Window) -> dict[str, list]:
        return self._features(texts.contexts[window.example], window, texts.entity_types)

    def _batch(self, texts: MultiNerTexts, inputs, windows: list[Window]) -> MultiNerBatch:
        if texts.entity_types != self.entity_types:
            import torch

            inputs["entity_type_ids"] = torch.tensor([self.entity_types.index(n) for n in texts.entity_types])
        return MultiNerBatch(inputs, windows, texts.contexts, texts.entity_types)

    # ----------------------------------------------------------------------------------------------- decoding

    def decode(
        self, outputs, batch: MultiNerBatch, threshold: float | None = None, flat: bool = False
    ) -> list[list[dict]]:
        """Entities per input, in the input's offsets, from the model outputs on `batch`.

        Args:
            outputs: a [`MultiNerOutput`] (or anything with `start_logits`, `end_logits`, `span_logits`).
            batch: the [`MultiNerBatch`] the outputs were computed on (holding every window of its inputs).
            threshold: probability the start, end and span-match scores must each exceed, in [0, 1); by default the
                model's `config.decision_threshold` (calibrated at the end of training), else 0.5.
            flat: keep only the highest-scoring non-overlapping entities (flat NER); nested by default.

        Returns:
            Per input, a list of `{"entity_group", "score", "word", "start", "end"}` sorted by start: `start`/`end`
            are character offsets (end exclusive) for texts, word indices for `tokens`; `score` is a Python float;
            `word` is the covered text (words joined by spaces for `tokens`). Entities found in several overlapping
            windows are merged, keeping the highest score.
        """
        texts = MultiNerTexts(batch.contexts, batch.windows, batch.entity_types)
        return self.results(texts, self.window_results(outputs, batch, threshold), flat=flat)

    def window_results(
        self, outputs, batch: MultiNerBatch, threshold: float | None = None
    ) -> list[list[tuple[str, int, int, float]]]:
        """Per window of `batch`, the spans that clear `threshold` (default: `self.threshold`) as `(label, first,
        last, score)` in window token coordinates: the part of `decode` that needs the model outputs (they can be
        freed after it)."""
        threshold = self.decision_threshold(threshold)
        if outputs.span_logits.shape[2] != self.max_span_length:
            raise ValueError(
                f"The model scores spans up to {outputs.span_logits.shape[2]} tokens but the processor's "
                f"max_span_length is {self.max_span_length}; load the processor with the model's config."
            )
        decoded = decode_spans(outputs.start_logits, outputs.end_logits, outputs.span_logits, threshold)
        return [
            [(batch.entity_types[type_pos], first, last, score) for type_pos, first, last, score in spans]
            for spans in decoded
        ]

    def results(
        self, texts: MultiNerTexts, spans_per_window: Sequence[Sequence[tuple]], flat: bool = False
    ) -> list[list[dict]]:
        """Entities per input from the `window_results` of every window of `texts`, in window order: windows merged,
        offsets mapped back, nested unless `flat`."""
        if len(spans_per_window) != len(texts.windows):
            raise ValueError(f"Got spans for {len(spans_per_window)} windows; the inputs have {len(texts.windows)}.")
        merged = merge_window_spans(texts.windows, spans_per_window, texts.contexts)
        results = []
        for context, found in zip(texts.contexts, merged):
            entities = entity_dicts(context, found) if context is not None else []
            if flat:
                entities = keep_non_overlapping(entities, lambda e: (e["start"], e["end"]), lambda e: e["score"])
            results.append(entities)
        return results

    def check_model_config(self, config) -> None:
        """Raise if a model's config lays its inputs out differently from this processor's (entity types and their
        order, query mode, span length)."""
        if config.input_signature() != self._input_signature:
            raise ValueError(
                f"The processor was built for entity_types={self.entity_types}, query_mode={self.query_mode!r}, "
                f"max_span_length={self.max_span_length}; the model has entity_types={list(config.entity_types)}, "
                f"query_mode={config.query_mode!r}, max_span_length={config.max_span_length}. The entity types, "
                "query mode or span length differ from the model's: use the processor saved with the model, or "
                "MultiNerProcessor.from_model(model)."
            )

    @property
    def model_input_names(self) -> list[str]:
        names = ["input_ids", "attention_mask", "context_mask", "start_mask", "end_mask", "input_signature"]
        names += ["casing_ids"] if self.model_config.casing_features else []
        names += ["char_ids"] if self.model_config.char_features else []
        type_ids = ["token_type_ids"] if self._uses_token_type_ids else []
        mode_names = query_mode_of(self.query_mode).input_names
        if not self._uses_token_type_ids:
            mode_names = [name for name in mode_names if "token_type_ids" not in name]
        return names + type_ids + mode_names

    # ----------------------------------------------------------------------------------------------- internals

    def _context_capacity(self) -> int:
        capacity = self.max_length - self._layout.taken
        if capacity <= self.stride:
            raise ValueError(
                f"{self._layout.taker} {self._layout.taken} of max_length={self.max_length} tokens (with the "
                f"special tokens), leaving {max(capacity, 0)} for the context (stride={self.stride}); shorten the "
                "queries or raise max_length."
            )
        return capacity

    def selected_types(self, entity_types: Sequence[str] | None) -> list[str]:
        """The model's types among `entity_types`, in the model's order (all when None); a wrong value is a TypeError
        or ValueError naming `entity_types`."""
        if entity_types is None:
            return self.entity_types
        if isinstance(entity_types, str) or not isinstance(entity_types, Sequence):
            raise TypeError(
                f"entity_types must be a list of type names such as [{self.entity_types[0]!r}], got "
                f"{entity_types!r} ({type(entity_types).__name__})."
            )
        if not entity_types:
            raise ValueError(f"entity_types is empty; choose at least one of {self.entity_types} (or leave it out).")
        unknown = [name for name in entity_types if name not in self.entity_types]
        if unknown:
            raise ValueError(f"entity_types: unknown entity types {unknown}; choose from {self.entity_types}.")
        return [name for name in self.entity_types if name in set(entity_types)]

    def _features(self, context: Context, window: Window, entity_types: list[str]) -> dict[str, list]:
        return {
            **self._layout.features(context.ids[window.start : window.stop], entity_types),
            "start_mask": [int(flag) for flag in context.word_first[window.start : window.stop]],
            "end_mask": [int(flag) for flag in context.word_last[window.start : window.stop]],
            **self._casing_features(context, window),
            **(
                {"char_ids": token_word_chars(context, window.start, window.stop)}
                if self.model_config.char_features
                else {}
            ),
            "input_signature": self._input_signature,
        }


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


__all__ = [
    "DEFAULT_QUERIES",
    "MultiNerBatch",
    "MultiNerProcessor",
    "MultiNerTexts",
    "UnrepresentableEntityWarning",
    "default_query",
]
