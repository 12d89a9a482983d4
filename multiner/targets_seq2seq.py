"""Target sequences of the seq2seq pointer family, and the generation constraint that keeps them well formed.

An entity is `(fragments, type)`: `fragments` a tuple of `(first word, last word)` pairs (inclusive, in order, with
at least one word between consecutive fragments) and `type` the position of its type. A target is the entities in a
fixed order, each written as pointers to its words then its type token, and the end token:

    output id 0 = end, 1 = start (decoder input only), 2 + t = type t, first_pointer_id + w = source word w

With `"all_words"` an entity points at every word of every fragment (fragments are the runs of consecutive
pointers); with `"fragment_bounds"` at each fragment's first and last word (a one-word fragment points twice).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor

from .configuration_seq2seq import END_ID, FIRST_TYPE_ID, START_ID

Fragments = tuple[tuple[int, int], ...]
Entity = tuple[Fragments, int]


def check_fragments(fragments: Sequence[Sequence[int]]) -> str | None:
    """What is wrong with a fragment list in words (inclusive pairs), or None: non-empty, each first <= last, in
    order and not overlapping."""
    if not fragments:
        return "it has no fragments"
    for first, last in fragments:
        if first > last:
            return f"fragment ({first}, {last}) ends before it starts"
    for (_, previous_last), (first, _) in zip(fragments, fragments[1:]):
        if first <= previous_last:
            return "its fragments overlap or are out of order (they must be sorted and disjoint)"
    return None


def merge_adjacent(fragments: Sequence[Sequence[int]]) -> Fragments:
    """Fragments with consecutive ones that touch (no word between them) joined: in words they are one fragment."""
    merged: list[list[int]] = []
    for first, last in fragments:
        if merged and first == merged[-1][1] + 1:
            merged[-1][1] = last
        else:
            merged.append([first, last])
    return tuple((first, last) for first, last in merged)


def entity_pointers(fragments: Fragments, target_mode: str) -> list[int]:
    """The source words an entity points at, in order."""
    if target_mode == "all_words":
        return [word for first, last in fragments for word in range(first, last + 1)]
    return [word for fragment in fragments for word in fragment]


def pair_relations(entities: Sequence[Entity]) -> list[list[int]]:
    """The labelled word pairs of relation prediction (seeds/001): `[i, j, class]` with `i < j` or `i == j`, class
    1 (Begin-End) for an entity's first and last word (a one-word entity's word with itself), 2 (Inside) for two
    consecutive words of an entity (its words in order, across the gaps of a discontinuous one); Begin-End wins
    where nested entities disagree. Unlisted pairs are class 0 (None). Classes index `RELATION_CLASSES`."""
    classes: dict[tuple[int, int], int] = {}
    for fragments, _ in entities:
        words = entity_pointers(fragments, "all_words")
        for pair in zip(words, words[1:]):
            classes.setdefault(pair, 2)
        classes[(words[0], words[-1])] = 1
    return [[i, j, kind] for (i, j), kind in sorted(classes.items())]


def encode_targets(entities: Sequence[Entity], target_mode: str, first_pointer_id: int) -> list[int]:
    """The target ids (without the start token, with the end token) of a set of entities, sorted by their
    pointers, then type; duplicates written once.

    Example:
        >>> encode_targets([(((8, 9), (12, 12)), 0), (((11, 12),), 0)], "all_words", first_pointer_id=3)
        [11, 12, 15, 2, 14, 15, 2, 0]
    """
    ordered = sorted({(tuple(entity_pointers(fragments, target_mode)), kind) for fragments, kind in entities})
    ids: list[int] = []
    for pointers, kind in ordered:
        ids += [first_pointer_id + word for word in pointers] + [FIRST_TYPE_ID + kind]
    return ids + [END_ID]


def fragments_of(pointers: Sequence[int], target_mode: str) -> Fragments | None:
    """The fragments an entity's pointers stand for, or None when they are ill formed."""
    if not pointers:
        return None
    if target_mode == "all_words":
        if any(later <= earlier for earlier, later in zip(pointers, pointers[1:])):
            return None
        return merge_adjacent([(word, word) for word in pointers])
    if len(pointers) % 2:
        return None
    fragments = tuple(zip(pointers[::2], pointers[1::2]))
    if check_fragments(fragments) is not None:
        return None
    return merge_adjacent(fragments)


def decode_targets(
    ids: Sequence[int], num_types: int, num_words: int, target_mode: str
) -> tuple[list[tuple[Entity, list[int]]], int]:
    """Entities from generated ids, with the positions (in `ids`) of the tokens that wrote each, and the number of
    ill-formed groups left out. Reads up to the first end token; a start token is skipped; never raises.

    Example:
        >>> decode_targets([1, 11, 12, 15, 2, 14, 15, 2, 0], num_types=1, num_words=13, target_mode="all_words")
        ([((((8, 9), (12, 12)), 0), [1, 2, 3, 4]), ((((11, 12),), 0), [5, 6, 7])], 0)
    """
    first_pointer_id = FIRST_TYPE_ID + num_types
    found: list[tuple[Entity, list[int]]] = []
    pointers: list[int] = []
    positions: list[int] = []
    valid, malformed = True, 0
    for position, token in enumerate(ids):
        token = int(token)
        if token == END_ID:
            break
        if token == START_ID:
            continue
        positions.append(position)
        if token >= first_pointer_id:
            word = token - first_pointer_id
            valid = valid and word < num_words
            pointers.append(word)
            continue
        if token < FIRST_TYPE_ID:
            valid = False
            continue
        fragments = fragments_of(pointers, target_mode) if valid else None
        if fragments is None:
            malformed += 1
        else:
            found.append(((fragments, token - FIRST_TYPE_ID), positions))
        pointers, positions, valid = [], [], True
    if pointers:
        malformed += 1
    return found, malformed


class PointerConstraintLogitsProcessor(LogitsProcessor):
    """Only well-formed continuations: pointers inside the source and increasing within an entity (with a gap of at
    least one word before a new fragment in `"fragment_bounds"` mode), a type token only after an entity's pointers
    (an even number of them in `"fragment_bounds"` mode), the end token only between entities, never the start
    token. Every row always keeps at least one allowed token.

    Args:
        num_types: number of entity types.
        source_words: `[batch]` words in each source (rows of a beam search are `batch * num_beams`, batch-major).
        target_mode: `"all_words"` or `"fragment_bounds"`.
        discontinuous: whether an entity may have several fragments; with False, one fragment each (pointers to
            consecutive words in `"all_words"` mode, one pair in `"fragment_bounds"` mode).

    Example:
        >>> processor = PointerConstraintLogitsProcessor(1, torch.tensor([3]), "all_words")
        >>> allowed = processor(torch.tensor([[1, 4]]), torch.zeros(1, 6)) > float("-inf")
        >>> allowed.int().tolist()  # after a pointer to word 1: its type, or word 2
        [[0, 0, 1, 0, 0, 1]]
    """

    def __init__(self, num_types: int, source_words: torch.Tensor, target_mode: str, discontinuous: bool = True):
        self.first_pointer_id = FIRST_TYPE_ID + num_types
        self.source_words = torch.as_tensor(source_words, dtype=torch.long)
        self.target_mode = target_mode
        self.discontinuous = discontinuous

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows, size = scores.shape
        words = self.source_words.to(scores.device).repeat_interleave(rows // len(self.source_words))
        # the open entity is the run of pointers at the end of each row: its length and its last word
        is_pointer = input_ids >= self.first_pointer_id  # [rows, steps]
        steps = torch.arange(input_ids.size(1), device=input_ids.device)
        last_other = torch.where(is_pointer, -1, steps).max(dim=1).values
        count = (input_ids.size(1) - 1 - last_other).to(scores.device)[:, None]  # [rows, 1]
        last_token = input_ids[:, -1:].to(scores.device) - self.first_pointer_id
        last = torch.where(count > 0, last_token, -1)
        column = torch.arange(size, device=scores.device)[None, :]  # [1, size]
        word = column - self.first_pointer_id
        inside = (word >= 0) & (word < words[:, None])
        if self.target_mode == "all_words":
            after = (word > last) if self.discontinuous else (count == 0) | (word == last + 1)
            pointer_ok = inside & after
            type_ok = count > 0
        else:
            closing = count % 2 == 1  # the next pointer ends the open fragment
            opening = (count == 0) | ((word > last + 1) & self.discontinuous)
            pointer_ok = inside & torch.where(closing, word >= last, opening)
            type_ok = (count > 0) & ~closing
        is_type = (column >= FIRST_TYPE_ID) & (column < self.first_pointer_id)
        allowed = pointer_ok | (is_type & type_ok) | ((column == END_ID) & (count == 0))
        return scores.masked_fill(~allowed, float("-inf"))


__all__ = [
    "Entity",
    "Fragments",
    "PointerConstraintLogitsProcessor",
    "check_fragments",
    "decode_targets",
    "encode_targets",
    "entity_pointers",
    "fragments_of",
    "merge_adjacent",
]
