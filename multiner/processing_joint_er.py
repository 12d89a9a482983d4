"""JointErProcessor: texts with entities and relations -> word-level model features; model outputs -> entities and
relations in the input's offsets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Any

from .configuration_joint_er import JointErConfig
from .data_collator_joint_er import JointErDataCollator
from .decoding import keep_non_overlapping
from .modeling_core import LABEL_PAD
from .processing_core import WindowedBatch, WindowedProcessor, WindowedTexts
from .text_core import (
    UNREPRESENTABLE_REASONS,
    Context,
    TokenAlignment,
    Window,
    WindowMerge,
    check_threshold,
    checked_entity,
    entity_dicts,
    make_windows,
    window_word_tokens,
    word_of_token,
)
from .word_features import window_word_chars

# Why a gold entity or relation can be left out of the labels: the text core's entity reasons (less the span length,
# which only the span head has: "too_long" counts words here), overlaps under BIO tags, and two relation reasons.
REASONS = {
    **UNREPRESENTABLE_REASONS,
    "too_long": "it spans more words than max_span_length (span head)",
    "overlap": "it overlaps a longer entity, and BIO tags hold no overlapping entities (ner_head='bio_crf')",
    "relation_argument": "(a relation) one of its arguments was left out for one of the reasons above",
    "relation_window": "(a relation) no window of max_length tokens holds both of its arguments",
    "relation_self": "(a relation) its two arguments are one span and type (two copies of one entity), a pair the "
    "model never scores",
}


class JointErTexts(WindowedTexts):
    """Inputs tokenized once and cut into windows: one `Context` per input and the windows of all of them."""


class JointErBatch(WindowedBatch):
    """Model inputs (the dict itself) plus the `windows` of these rows and all `contexts`."""


class JointErProcessor(WindowedProcessor):
    """Word-level features of a joint entity + relation model around a fast tokenizer, and entities with relations
    back in character (or word) offsets.

    The model's config owns the entity and relation types, the NER head and its span length; the processor reads
    them from it. Its own settings are the window (`max_length`, `stride`), saved in `processor_config.json`.

    Training examples are `{"text", "entities": [{"start", "end", "label"}], "relations": [{"head", "tail",
    "type"}]}` with character offsets (end exclusive) and relation arguments as indices into `entities`, or the
    same with `tokens` and word offsets. Gold entities and relations the model cannot hold (see `REASONS`) are
    counted per reason, with a warning, and stored in each example's first row.

    Args:
        tokenizer: a fast tokenizer.
        model_config: the model's [`JointErConfig`].
        max_length: longest window, special tokens included.
        stride: tokens shared by consecutive windows of a long text. A relation whose arguments lie in no common
            window is out of reach (counted in training; never predicted).

    Example:
        >>> processor = JointErProcessor.from_model(model)  # doctest: +SKIP
        >>> batch = processor(["Ada Lovelace lived in London."])  # doctest: +SKIP
        >>> processor.decode(model(**batch), batch)  # doctest: +SKIP
        [{'entities': [...], 'relations': [{'type': 'Live_In', 'score': 0.93, 'head': 0, 'tail': 1}]}]
    """

    config_class = JointErConfig
    collator_class = JointErDataCollator
    texts_class = JointErTexts
    batch_class = JointErBatch
    owned_settings = "the entity and relation types"
    reasons = REASONS
    counted = "gold entities and relations"
    missing_entities = "preprocess needs an 'entities' column of {'start', 'end', 'label'} dicts per example."

    @property
    def relation_types(self) -> list[str]:
        return list(self._model_config.relation_types)

    # ----------------------------------------------------------------------------------------------- features

    def _example_rows(self, context: Context, example: dict, index: int, skipped: Counter) -> list[dict]:
        spans, relation_triples = self._gold(
            context, example["entities"] or [], example.get("relations") or [], index, skipped
        )
        token_words = word_of_token(context)
        example_rows, held_entities, held_relations = [], set(), set()
        for window in make_windows(context, index, self._window_size, self.stride):
            held = [span for span in spans if window.holds(span[0], span[1])]
            number_of = {span: number for number, span in enumerate(held)}
            inside = [triple for triple in relation_triples if triple[0] in number_of and triple[1] in number_of]
            held_entities.update(held)
            held_relations.update(inside)
            first_word = token_words[window.start]
            labels = [[token_words[f] - first_word, token_words[la] - first_word, t] for f, la, t in held]
            relation_labels = [[number_of[head], number_of[tail], kind] for head, tail, kind in inside]
            example_rows.append(
                {
                    **self._features(context, window),
                    "labels": labels or [[LABEL_PAD] * 3],
                    "relation_labels": relation_labels or [[LABEL_PAD] * 3],
                }
            )
        skipped["window"] += len(set(spans) - held_entities)
        skipped["relation_window"] += len(set(relation_triples) - held_relations)
        return example_rows

    def _gold(
        self, context: Context, entities: Sequence, relations: Sequence, index: int, skipped: Counter
    ) -> tuple[list[tuple[int, int, int]], list[tuple]]:
        """Representable gold entities as sorted `(first token, last token, type)` and relations as `(head span, tail
        span, relation type)`; the rest counted in `skipped`. Bad relations are a ValueError."""
        alignment = TokenAlignment(context, index)
        token_words = word_of_token(context)
        span_of: list[tuple[int, int, int] | None] = []
        for entity in entities:
            start, end, label = checked_entity(entity, index, len(context.source), self.entity_types)
            first, last = alignment.tokens(start, end) or (None, None)
            span = None
            if first is None:
                skipped["misaligned"] += 1
            elif self.model_config.span_entities and (
                token_words[last] - token_words[first] >= self.model_config.max_span_length
            ):
                skipped["too_long"] += 1
            else:
                span = (first, last, self.entity_types.index(label))
            span_of.append(span)
        kept = {span for span in span_of if span is not None}
        if not self.model_config.span_entities:
            kept = _without_overlaps(kept, skipped)
        triples = set()
        for relation in relations:
            head, tail, kind = self._checked_relation(relation, len(entities), index)
            head_span, tail_span = span_of[head], span_of[tail]
            if head_span not in kept or tail_span not in kept:
                skipped["relation_argument"] += 1
            elif head_span == tail_span:
                skipped["relation_self"] += 1
            else:
                triples.add((head_span, tail_span, kind))
        return sorted(kept), sorted(triples)

    def _checked_relation(self, relation: Any, count: int, index: int) -> tuple[int, int, int]:
        if not isinstance(relation, Mapping) or not {"head", "tail", "type"} <= set(relation):
            raise ValueError(
                f"Input {index}: each relation must be a dict with 'head', 'tail' (indices into the example's "
                f"entities) and 'type', got {relation!r}."
            )
        head, tail, kind = relation["head"], relation["tail"], relation["type"]
        for name, value in (("head", head), ("tail", tail)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
                raise ValueError(
                    f"Input {index}: relation {relation!r} points at entity {name}={value!r}, but the example has "
                    f"{count} entities; 'head' and 'tail' are indices into its 'entities' list (0 to {count - 1})."
                )
        if head == tail:
            raise ValueError(f"Input {index}: relation {relation!r} links entity {head} to itself.")
        if kind not in self.relation_types:
            raise ValueError(
                f"Input {index}: unknown relation type {kind!r}; the model's relation_types are {self.relation_types}."
            )
        return head, tail, self.relation_types.index(kind)

    # ----------------------------------------------------------------------------------------------- inference

    def decode(self, outputs, batch: JointErBatch, relation_threshold: float | None = None) -> list[dict]:
        """Per input, `{"entities": [...], "relations": [...]}` from the model outputs on `batch`.

        Entities are the HF schema `{"entity_group", "score", "word", "start", "end"}` (character offsets, end
        exclusive, for texts; word indices for `tokens`), sorted by start; relations are `{"type", "score", "head",
        "tail"}` with `head` and `tail` indices into that input's `entities`. Scores are Python floats.
        """
        texts = JointErTexts(batch.contexts, batch.windows)
        return self.results(texts, self.window_results(outputs, batch, relation_threshold))

    def window_results(self, outputs, batch: JointErBatch, relation_threshold: float | None = None) -> list[tuple]:
        """Per window of `batch`: its entities `(label, first token, last token, score)` in window token coordinates
        and its relations `(head, tail, type, score)` over them; the part of `decode` that needs the outputs."""
        threshold = self.model_config.relation_threshold if relation_threshold is None else relation_threshold
        check_threshold(threshold, "relation_threshold")
        spans = outputs.entity_spans.tolist()
        scores = outputs.entity_scores.float().tolist()
        probabilities = outputs.relation_logits.float().sigmoid()
        found_relations = (probabilities > threshold).nonzero().tolist()
        relations_of: list[list] = [[] for _ in batch.windows]
        for row, head, tail, kind in found_relations:
            if head != tail and spans[row][head][0] >= 0 and spans[row][tail][0] >= 0:
                score = float(probabilities[row, head, tail, kind])
                relations_of[row].append((head, tail, self.relation_types[kind], score))
        results = []
        for row, window in enumerate(batch.windows):
            first_token, last_token = window_word_tokens(batch.contexts[window.example], window)
            entities = [
                (self.entity_types[kind], first_token[first], last_token[last], score)
                for (first, last, kind), score in zip(spans[row], scores[row])
                if first >= 0
            ]
            results.append((entities, relations_of[row]))
        return results

    def results(self, texts: JointErTexts, per_window: Sequence[tuple]) -> list[dict]:
        """Entities and relations per input from the `window_results` of every window of `texts`, in order: windows
        merged (an entity on a window's cut edge is taken from a window that sees it whole), offsets mapped back."""
        if len(per_window) != len(texts.windows):
            raise ValueError(f"Got results for {len(per_window)} windows; the inputs have {len(texts.windows)}.")
        merge = WindowMerge(texts.windows, len(texts.contexts))
        linked: list[dict] = [{} for _ in texts.contexts]
        for window, (entities, relations) in zip(texts.windows, per_window):
            context = texts.contexts[window.example]
            keys = []
            for label, first, last, score in entities:
                first, last = window.start + first, window.start + last
                key = (label, context.offsets[first][0], context.offsets[last][1])
                keys.append(key if merge.add(window, first, last, key, score) else None)
            for head, tail, kind, score in relations:
                if keys[head] is not None and keys[tail] is not None:
                    relation_key = (keys[head], keys[tail], kind)
                    linked[window.example][relation_key] = max(score, linked[window.example].get(relation_key, 0.0))
        found = merge.best
        config = self._model_config
        if not config.span_entities or not config.overlapping_entities:
            # a flat model: two windows that read a stretch differently may each find one of two overlapping entities;
            # keys (label, start, end) in order of start, so that of equal scores the earlier wins
            found = [
                {
                    key: entities[key]
                    for key in keep_non_overlapping(
                        sorted(entities, key=lambda key: key[1:]), lambda key: key[1:], entities.__getitem__
                    )
                }
                for entities in found
            ]
            linked = [
                {key: score for key, score in relations.items() if key[0] in entities and key[1] in entities}
                for entities, relations in zip(found, linked)
            ]
        results = []
        for context, entities, relations in zip(texts.contexts, found, linked):
            if context is None:
                results.append({"entities": [], "relations": []})
                continue
            dicts = entity_dicts(context, entities)
            position = {(e["entity_group"], e["start"], e["end"]): number for number, e in enumerate(dicts)}
            relation_dicts = [
                {"type": kind, "score": float(score), "head": position[head], "tail": position[tail]}
                for (head, tail, kind), score in relations.items()
            ]
            relation_dicts.sort(key=lambda relation: (relation["head"], relation["tail"], relation["type"]))
            results.append({"entities": dicts, "relations": relation_dicts})
        return results

    def check_model_config(self, config) -> None:
        """Raise if a model's config lays out its labels differently from this processor's."""
        if config.input_signature() != self._input_signature:
            raise ValueError(
                f"The processor was built for entity_types={self.entity_types}, relation_types="
                f"{self.relation_types}, ner_head={self.model_config.ner_head!r}; the model has entity_types="
                f"{list(config.entity_types)}, relation_types={list(config.relation_types)}, ner_head="
                f"{config.ner_head!r}. Use the processor saved with the model, or JointErProcessor.from_model(model)."
            )

    @property
    def model_input_names(self) -> list[str]:
        names = ["input_ids", "attention_mask", "word_ids", "input_signature"]
        names += ["casing_ids"] if self.model_config.casing_features else []
        return names + (["char_ids"] if self.model_config.char_features else [])

    def _features(self, context: Context, window: Window) -> dict[str, list]:
        ids = context.ids[window.start : window.stop]
        word_ids = [count - 1 for count in accumulate(context.word_first[window.start : window.stop])]
        return {
            "input_ids": self._head_ids + ids + self._tail_ids,
            "word_ids": [-1] * len(self._head_ids) + word_ids + [-1] * len(self._tail_ids),
            **self._casing_features(context, window, len(self._head_ids), len(self._tail_ids)),
            **({"char_ids": window_word_chars(context, window)} if self.model_config.char_features else {}),
            "input_signature": self._input_signature,
        }


def _without_overlaps(spans: set, skipped: Counter) -> set:
    """The longest spans first (ties: the earlier, then the lower type), each kept when it overlaps none kept before
    (the paper's rule for ADE, by the package's one greedy rule); the rest are counted as "overlap"."""
    ordered = sorted(spans, key=lambda span: (span[0], span[2]))
    kept = keep_non_overlapping(ordered, lambda span: (span[0], span[1] + 1), lambda span: span[1] - span[0])
    skipped["overlap"] += len(ordered) - len(kept)
    return set(kept)


__all__ = ["REASONS", "JointErBatch", "JointErProcessor", "JointErTexts"]
