"""Seq2SeqNerProcessor: texts with (possibly discontinuous) entities -> source windows and pointer targets;
generated sequences -> entities with their character fragments."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .configuration_seq2seq import END_ID, Seq2SeqNerConfig
from .data_collator_seq2seq import Seq2SeqNerDataCollator
from .modeling_core import LABEL_PAD
from .processing_core import WindowedBatch, WindowedProcessor, WindowedTexts
from .targets_seq2seq import decode_targets, encode_targets, entity_pointers, merge_adjacent, pair_relations
from .text_core import (
    UNREPRESENTABLE_REASONS,
    Context,
    TokenAlignment,
    Window,
    WindowMerge,
    make_windows,
    window_word_tokens,
    word_of_token,
)

# Why a gold entity can be left out of the targets (a fragment's start or end inside a word; in no single window;
# past the longest target the model generates).
REASONS = {
    "misaligned": "a fragment's start or end falls inside a word (no token boundary there)",
    "window": UNREPRESENTABLE_REASONS["window"],
    "target_length": "the window's target would be longer than max_target_length output tokens",
    "discontinuous": "it has several fragments, and the model writes contiguous entities only (discontinuous=False)",
}


# Why generated output can hold fewer entities than the model wrote or meant to: counted per call, with a warning.
LOST_OUTPUT = {
    "cut": "window(s) whose output stopped at max_new_tokens before its end token: entities after the cut were never "
    "written (raise max_new_tokens, or the model's max_target_length)",
    "ill_formed": "ill-formed group(s) of output tokens left out (an entity begun and not finished)",
}


class LostOutputWarning(UserWarning):
    """Generated output that could not be read back in full: counted per reason (`LOST_OUTPUT`), never silently."""


class Seq2SeqNerTexts(WindowedTexts):
    """Inputs tokenized once and cut into windows: one `Context` per input and the windows of all of them."""


class Seq2SeqNerBatch(WindowedBatch):
    """Model inputs (the dict itself) plus the `windows` of these rows and all `contexts`."""


class Seq2SeqNerProcessor(WindowedProcessor):
    """Source windows and pointer targets for a seq2seq pointer model, around a fast tokenizer; entities (with their
    fragments) back in character or word offsets.

    A source word is what the tokenizer's pre-tokenizer calls a word (for BERT, punctuation is a word of its own);
    its first token stands for it. The model's config owns the entity types and the target mode; the processor
    reads them from it. Its own settings are the window (`max_length`, `stride`), saved in `processor_config.json`.

    Training examples are `{"text", "entities": [...]}` (character offsets) or `{"tokens", "entities": [...]}` (word
    offsets), an entity being `{"start", "end", "label"}` (contiguous) or `{"label", "fragments": [{"start", "end"},
    ...]}` (ends exclusive; fragments in order and disjoint; `start`/`end`, when given, must span them). Fragments
    that touch (nothing but spaces between them) are one fragment in words. Gold entities the model cannot hold
    (see `REASONS`) are counted per reason, with a warning, and stored in each example's first row.

    Args:
        tokenizer: a fast tokenizer.
        model_config: the model's [`Seq2SeqNerConfig`].
        max_length: longest source window, special tokens included.
        stride: tokens shared by consecutive windows of a long text.

    Example:
        >>> processor = Seq2SeqNerProcessor.from_model(model)  # doctest: +SKIP
        >>> batch = processor(["I had aching in the legs and shoulders."])  # doctest: +SKIP
        >>> processor.decode(model.generate(**batch, output_scores=True, return_dict_in_generate=True), batch)
        ... # doctest: +SKIP
        [[{'entity_group': 'ADR', 'word': 'aching in shoulders', 'start': 6, 'end': 38, 'fragments': [...], ...}]]
    """

    config_class = Seq2SeqNerConfig
    collator_class = Seq2SeqNerDataCollator
    texts_class = Seq2SeqNerTexts
    batch_class = Seq2SeqNerBatch
    owned_settings = "the entity types and target mode"
    reasons = REASONS
    missing_entities = (
        "preprocess needs an 'entities' column: per example a list of {'start', 'end', 'label'} or "
        "{'label', 'fragments': [{'start', 'end'}, ...]} dicts."
    )

    # ----------------------------------------------------------------------------------------------- features

    def _example_rows(self, context: Context, example: dict, index: int, skipped: Counter) -> list[dict]:
        config = self.model_config
        gold = self._gold(context, example["entities"] or [], index, skipped)
        token_words = word_of_token(context)
        held_anywhere = set()
        example_rows = []
        for window in make_windows(context, index, self._window_size, self.stride):
            first_word = token_words[window.start]
            held = []
            for fragments, kind in gold:
                if window.holds(fragments[0][0], fragments[-1][1]):
                    held_anywhere.add((fragments, kind))
                    words = tuple((token_words[a] - first_word, token_words[b] - first_word) for a, b in fragments)
                    held.append((words, kind))
            labels, left_out = _fitting_targets(
                held, config.target_mode, config.first_pointer_id, config.max_target_length
            )
            skipped["target_length"] += left_out
            row = {**self._features(context, window), "labels": labels}
            if config.relation_prediction:
                row["relation_labels"] = pair_relations(held) or [[LABEL_PAD] * 3]
            example_rows.append(row)
        skipped["window"] += len(set(gold) - held_anywhere)
        return example_rows

    def _gold(self, context: Context, entities: Sequence, index: int, skipped: Counter) -> list[tuple]:
        """Representable gold entities as `(fragments in (first token, last token) pairs, type)`, deduplicated; the
        rest counted in `skipped`. Ill-formed entities are a ValueError."""
        alignment = TokenAlignment(context, index)
        token_words = word_of_token(context)
        first_of_word = {token_words[t]: t for t in range(len(token_words)) if context.word_first[t]}
        last_of_word = {token_words[t]: t for t in range(len(token_words)) if context.word_last[t]}
        gold = {}
        for entity in entities:
            fragments, label = checked_fragmented_entity(entity, index, len(context.source), self.entity_types)
            tokens = [alignment.tokens(start, end) for start, end in fragments]
            if None in tokens:
                skipped["misaligned"] += 1
                continue
            words = merge_adjacent([(token_words[first], token_words[last]) for first, last in tokens])
            if len(words) > 1 and not self.model_config.discontinuous:
                skipped["discontinuous"] += 1
                continue
            merged = tuple((first_of_word[a], last_of_word[b]) for a, b in words)
            gold[(merged, self.entity_types.index(label))] = None
        return list(gold)

    # ----------------------------------------------------------------------------------------------- inference

    def decode(self, generated, batch: Seq2SeqNerBatch) -> list[list[dict]]:
        """Per input, its entities from `generate`'s output on `batch` (see `results` for the schema).

        `generated` is what `model.generate(**batch, output_scores=True, return_dict_in_generate=True)` returns, or
        just its sequences (every score is then 1.0)."""
        texts = Seq2SeqNerTexts(batch.contexts, batch.windows)
        return self.results(texts, self.window_results(generated, batch))

    def window_results(self, generated, batch: Seq2SeqNerBatch) -> list[tuple[list, Counter]]:
        """Per window of `batch`: its entities `(label, fragments in window token pairs, score)` and what its output
        lost, counted per `LOST_OUTPUT` reason (cut before its end token, ill-formed groups); the part of `decode`
        that needs the model's output."""
        sequences = getattr(generated, "sequences", generated)
        log_probabilities = _step_log_probabilities(generated)
        num_types = len(self.entity_types)
        results = []
        for row, window in enumerate(batch.windows):
            context = batch.contexts[window.example]
            firsts, lasts = window_word_tokens(context, window)
            ids = sequences[row].tolist()
            found, malformed = decode_targets(ids, num_types, len(firsts), self.model_config.target_mode)
            lost = Counter(ill_formed=malformed, cut=int(END_ID not in ids[1:]))  # ids[0]: the start token
            entities = []
            for (fragments, kind), positions in found:
                score = 1.0
                if log_probabilities is not None:
                    steps = log_probabilities[row]
                    score = math.exp(sum(steps[p - 1] for p in positions if 0 < p <= len(steps)))
                token_fragments = tuple((firsts[a], lasts[b]) for a, b in fragments)
                entities.append((self.entity_types[kind], token_fragments, score))
            results.append((entities, lost))
        return results

    def results(self, texts: Seq2SeqNerTexts, per_window: Sequence[tuple[list, Counter]]) -> list[list[dict]]:
        """Entities per input from the `window_results` of every window of `texts`, in order: windows merged (an
        entity on a window's cut edge is taken from a window that sees it whole), offsets mapped back.

        Each entity is the HF schema plus its fragments: `{"entity_group", "score", "word", "start", "end",
        "fragments": [{"start", "end", "word"}]}`, sorted by start. `start`/`end` span the first fragment's start
        to the last fragment's end; `word` is the fragments' words joined by a space (for a contiguous entity,
        exactly the text between `start` and `end`). Offsets are characters for texts, word indices for `tokens`;
        scores are Python floats (the probability the model gave the entity's tokens). Output that was lost (see
        `LOST_OUTPUT`) is counted and reported in one `LostOutputWarning`."""
        if len(per_window) != len(texts.windows):
            raise ValueError(f"Got results for {len(per_window)} windows; the inputs have {len(texts.windows)}.")
        lost = Counter()
        for _, counts in per_window:  # a Counter, or the plain dict the pipeline's forward hands back
            lost.update(counts)
        lost = +lost  # the reasons that did happen
        if lost:
            details = "; ".join(f"{count} {LOST_OUTPUT[reason]}" for reason, count in sorted(lost.items()))
            warnings.warn(f"Seq2SeqNerProcessor: {details}.", LostOutputWarning, stacklevel=2)
        merge = WindowMerge(texts.windows, len(texts.contexts))
        for window, (entities, _) in zip(texts.windows, per_window):
            context = texts.contexts[window.example]
            for label, fragments, score in entities:
                fragments = tuple((window.start + a, window.start + b) for a, b in fragments)
                key = (label, tuple((context.offsets[a][0], context.offsets[b][1]) for a, b in fragments))
                merge.add(window, fragments[0][0], fragments[-1][1], key, score)
        results = []
        for context, entities in zip(texts.contexts, merge.best):
            if context is None:
                results.append([])
                continue
            dicts = []
            for (label, fragments), score in entities.items():
                fragment_dicts = [{"start": a, "end": b, "word": context.fragment(a, b)} for a, b in fragments]
                dicts.append(
                    {
                        "entity_group": label,
                        "score": float(score),
                        "word": " ".join(fragment["word"] for fragment in fragment_dicts),
                        "start": fragments[0][0],
                        "end": fragments[-1][1],
                        "fragments": fragment_dicts,
                    }
                )
            dicts.sort(key=lambda e: (e["start"], e["end"], e["entity_group"], [f["start"] for f in e["fragments"]]))
            results.append(dicts)
        return results

    def check_model_config(self, config) -> None:
        """Raise if a model's config lays out its targets differently from this processor's."""
        if config.input_signature() != self._input_signature:
            raise ValueError(
                f"The processor was built for entity_types={self.entity_types}, target_mode="
                f"{self.model_config.target_mode!r}; the model has entity_types={list(config.entity_types)}, "
                f"target_mode={config.target_mode!r}. Use the processor saved with the model, or "
                "Seq2SeqNerProcessor.from_model(model)."
            )

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "attention_mask", "word_index", "input_signature"]

    def _features(self, context: Context, window: Window) -> dict[str, Any]:
        ids = context.ids[window.start : window.stop]
        offset = len(self._head_ids)
        word_index = [offset + i for i in range(len(ids)) if context.word_first[window.start + i]]
        return {
            "input_ids": self._head_ids + ids + self._tail_ids,
            "word_index": word_index,
            "input_signature": self._input_signature,
        }


def checked_fragmented_entity(
    entity: Any, index: int, limit: int, entity_types: Sequence[str]
) -> tuple[list[tuple[int, int]], str]:
    """`(fragments as (start, end) offset pairs, label)` of a gold entity dict after checking it: contiguous
    `{"start", "end", "label"}` or `{"label", "fragments": [...]}`; fragments inside the input, in order and
    disjoint, and spanned by `start`/`end` when those are given."""
    if (
        not isinstance(entity, Mapping)
        or "label" not in entity
        or not ({"start", "end"} <= set(entity) or "fragments" in entity)
    ):
        raise ValueError(
            f"Input {index}: each entity must be a dict with 'label' and 'start'/'end' or 'fragments' (a list of "
            f"{{'start', 'end'}}), got {entity!r}."
        )
    raw = entity.get("fragments") or [entity]
    fragments = []
    for fragment in raw:
        start, end = (fragment.get("start"), fragment.get("end")) if isinstance(fragment, Mapping) else (None, None)
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
            raise ValueError(f"Input {index}: entity {entity!r}: offsets must be integers, got {fragment!r}.")
        if not 0 <= start < end <= limit:
            raise ValueError(
                f"Input {index}: entity {entity!r} has a fragment ({start}, {end}) outside the input of length "
                f"{limit}; offsets need 0 <= start < end <= length, end exclusive (characters for text, words for "
                "tokens)."
            )
        fragments.append((start, end))
    for (_, previous_end), (start, _) in zip(fragments, fragments[1:]):
        if start < previous_end:
            raise ValueError(
                f"Input {index}: entity {entity!r} has fragments out of order or overlapping; give them sorted by "
                "start, each starting at or after the previous one's end."
            )
    spanned = (entity.get("start", fragments[0][0]), entity.get("end", fragments[-1][1]))
    if spanned != (fragments[0][0], fragments[-1][1]):
        raise ValueError(
            f"Input {index}: entity {entity!r} has start/end {spanned} that do not span its fragments "
            f"({fragments[0][0]}, {fragments[-1][1]}); drop start/end or make them match."
        )
    if entity["label"] not in entity_types:
        raise ValueError(
            f"Input {index}: unknown entity type {entity['label']!r}; the model's types are {list(entity_types)}."
        )
    return fragments, entity["label"]


def _fitting_targets(
    entities: list[tuple], target_mode: str, first_pointer_id: int, max_target_length: int
) -> tuple[list[int], int]:
    """Target ids of `entities`, as many of them (in target order) as fit in `max_target_length`; and how many
    did not fit."""
    ordered = sorted(set(entities), key=lambda entity: (entity_pointers(entity[0], target_mode), entity[1]))
    kept, length = [], 1  # the end token
    for entity in ordered:
        length += len(entity_pointers(entity[0], target_mode)) + 1  # its pointers and its type
        if length > max_target_length:
            break
        kept.append(entity)
    return encode_targets(kept, target_mode, first_pointer_id), len(ordered) - len(kept)


def _step_log_probabilities(generated) -> list[list[float]] | None:
    """Per sequence of a `generate` output with scores, the log-probability of the token chosen at each step (greedy
    or beam search; None without scores). transformers' `compute_transition_scores` assumes a fixed vocabulary;
    here the outputs per step are as many as the window's words (plus end, start and types)."""
    scores = getattr(generated, "scores", None)
    if not scores:
        return None
    chosen = generated.sequences[:, 1:]  # [rows, steps]: every token after the start token
    count = chosen.size(1)
    steps = torch.stack(scores[:count], dim=1).float().log_softmax(dim=-1)  # [rows (x beams), steps, outputs]
    beam_indices = getattr(generated, "beam_indices", None)
    if beam_indices is None:
        rows = torch.arange(len(chosen))[:, None].expand_as(chosen)
    else:
        rows = beam_indices[:, :count].clamp(min=0)  # -1 after a sequence ended
    step = torch.arange(count)[None, :].expand_as(chosen)
    return steps[rows, step, chosen].tolist()


__all__ = [
    "LOST_OUTPUT",
    "REASONS",
    "LostOutputWarning",
    "Seq2SeqNerBatch",
    "Seq2SeqNerProcessor",
    "Seq2SeqNerTexts",
    "checked_fragmented_entity",
]
