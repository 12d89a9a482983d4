"""Pointer targets: encoding <-> decoding round trip over random flat, nested and discontinuous entities, decoding
that never raises, and the generation constraint that allows only well-formed outputs, even from random logits."""

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from multiner.configuration_seq2seq import END_ID, FIRST_TYPE_ID, START_ID
from multiner.targets_seq2seq import (
    PointerConstraintLogitsProcessor,
    check_fragments,
    decode_targets,
    encode_targets,
    merge_adjacent,
)

MODES = ("all_words", "fragment_bounds")


@st.composite
def entity_sets(draw, words=12, types=3):
    """Sets of entities over `words` words: contiguous, nested or overlapping, and discontinuous (fragments with a
    gap of at least one word)."""
    entities = []
    for _ in range(draw(st.integers(0, 6))):
        cuts = sorted(draw(st.sets(st.integers(0, words - 1), min_size=1, max_size=6)))
        pairs = [(cuts[i], cuts[i + 1] if i + 1 < len(cuts) else cuts[i]) for i in range(0, len(cuts), 2)]
        fragments = merge_adjacent(sorted(pairs))
        if check_fragments(fragments) is None:
            entities.append((fragments, draw(st.integers(0, types - 1))))
    return entities


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=200, deadline=None)
@given(entities=entity_sets())
def test_encoding_and_decoding_round_trip(mode, entities):
    first_pointer_id = FIRST_TYPE_ID + 3
    ids = encode_targets(entities, mode, first_pointer_id)
    assert ids[-1] == END_ID and ids.count(END_ID) == 1
    found, malformed = decode_targets([START_ID, *ids], num_types=3, num_words=12, target_mode=mode)
    assert malformed == 0
    assert sorted(entity for entity, _ in found) == sorted(set(entities))
    # each entity's positions are exactly the tokens that wrote it: its pointers and its type
    for (_, kind), positions in found:
        assert [START_ID, *ids][positions[-1]] == FIRST_TYPE_ID + kind


def test_a_discontinuous_entity_in_both_modes():
    fragments = ((8, 9), (12, 12))  # "intense pelvic ... pain"
    assert encode_targets([(fragments, 0)], "all_words", 3) == [11, 12, 15, 2, 0]
    assert encode_targets([(fragments, 0)], "fragment_bounds", 3) == [11, 12, 15, 15, 2, 0]


@settings(max_examples=300, deadline=None)
@given(ids=st.lists(st.integers(-3, 20), max_size=30), mode=st.sampled_from(MODES))
def test_decoding_never_raises_and_stays_in_the_source(ids, mode):
    found, malformed = decode_targets(ids, num_types=2, num_words=10, target_mode=mode)
    assert malformed >= 0
    for (fragments, kind), _ in found:
        assert 0 <= kind < 2
        assert check_fragments(fragments) is None
        assert all(0 <= first <= last < 10 for first, last in fragments)


def test_ill_formed_groups_are_counted_not_returned():
    # pointers 5 then 4 (decreasing), a type with no pointers, and a group cut off by the end
    ids = [START_ID, 3 + 5, 3 + 4, FIRST_TYPE_ID, FIRST_TYPE_ID, 3 + 1, END_ID]
    assert decode_targets(ids, num_types=1, num_words=8, target_mode="all_words") == ([], 3)
    # fragment_bounds needs pairs: three pointers are no entity
    assert decode_targets([3, 4, 5, 2, 0], num_types=1, num_words=8, target_mode="fragment_bounds") == ([], 1)


def random_constrained_sequences(mode, rows=64, steps=40, words=None, seed=0):
    generator = torch.Generator().manual_seed(seed)
    words = words if words is not None else torch.randint(1, 9, (rows,), generator=generator)
    processor = PointerConstraintLogitsProcessor(num_types=2, source_words=words, target_mode=mode)
    sequences = torch.full((rows, 1), START_ID)
    for _ in range(steps):
        scores = torch.randn(rows, FIRST_TYPE_ID + 2 + 12, generator=generator)
        scores = processor(sequences, scores)
        assert torch.isfinite(scores).any(dim=1).all()  # never a dead end
        sequences = torch.cat([sequences, scores.argmax(dim=1, keepdim=True)], dim=1)
    return sequences, words


@pytest.mark.parametrize("mode", MODES)
def test_random_logits_under_the_constraint_give_only_well_formed_output(mode):
    sequences, words = random_constrained_sequences(mode)
    for row, count in zip(sequences.tolist(), words.tolist()):
        ended = END_ID in row
        if ended:
            row = row[: row.index(END_ID) + 1]
        found, malformed = decode_targets(row, num_types=2, num_words=count, target_mode=mode)
        # an unfinished last entity (out of steps) is the only thing decoding may leave out
        assert malformed == (0 if ended or row[-1] < FIRST_TYPE_ID + 2 else 1)
        assert all(last < count for (fragments, _), _ in found for _, last in fragments)
        assert START_ID not in row[1:]


def test_constraint_allows_exactly_the_grammar():
    processor = PointerConstraintLogitsProcessor(1, torch.tensor([5]), "fragment_bounds")
    first_pointer_id = 3

    def allowed(prefix):
        scores = processor(torch.tensor([[START_ID, *prefix]]), torch.zeros(1, first_pointer_id + 6))
        return [column for column in range(scores.size(1)) if scores[0, column] > float("-inf")]

    words = [first_pointer_id + w for w in range(5)]
    assert allowed([]) == [END_ID, *words]  # end or a new entity; no type, no start, no padding word (5)
    assert allowed([3 + 1]) == words[1:]  # the open fragment ends at or after word 1
    assert allowed([3 + 1, 3 + 2]) == [FIRST_TYPE_ID, *words[4:]]  # a type, or a fragment after a gap
    assert allowed([3 + 1, 3 + 2, FIRST_TYPE_ID]) == [END_ID, *words]
    all_words = PointerConstraintLogitsProcessor(1, torch.tensor([5]), "all_words")
    scores = all_words(torch.tensor([[START_ID, 3 + 4]]), torch.zeros(1, first_pointer_id + 6))
    assert [c for c in range(scores.size(1)) if scores[0, c] > float("-inf")] == [FIRST_TYPE_ID]


def test_beam_rows_take_their_source_lengths_batch_major():
    processor = PointerConstraintLogitsProcessor(1, torch.tensor([1, 3]), "all_words")
    scores = processor(torch.full((4, 1), START_ID), torch.zeros(4, 3 + 4))  # 2 sources x 2 beams
    allowed_words = (scores[:, 3:] > float("-inf")).sum(dim=1).tolist()
    assert allowed_words == [1, 1, 3, 3]


def test_fragment_checks():
    assert check_fragments(()) == "it has no fragments"
    assert "ends before" in check_fragments(((3, 2),))
    assert "overlap" in check_fragments(((0, 3), (3, 5)))
    assert check_fragments(((0, 1), (3, 5))) is None
    assert merge_adjacent([(0, 1), (2, 4), (6, 6)]) == ((0, 4), (6, 6))
    rng = random.Random(0)
    for _ in range(100):
        firsts = sorted(rng.sample(range(30), 4))
        fragments = tuple((a, a + rng.randint(0, 1)) for a in firsts[::2])
        assert check_fragments(merge_adjacent(fragments)) is None


@pytest.mark.parametrize("mode", MODES)
def test_contiguous_only_constraint_writes_one_fragment_per_entity(mode):
    generator = torch.Generator().manual_seed(1)
    words = torch.randint(1, 9, (64,), generator=generator)
    processor = PointerConstraintLogitsProcessor(2, words, mode, discontinuous=False)
    sequences = torch.full((64, 1), START_ID)
    for _ in range(40):
        scores = processor(sequences, torch.randn(64, FIRST_TYPE_ID + 2 + 12, generator=generator))
        assert torch.isfinite(scores).any(dim=1).all()
        sequences = torch.cat([sequences, scores.argmax(dim=1, keepdim=True)], dim=1)
    found = [
        entity
        for row, count in zip(sequences.tolist(), words.tolist())
        for entity, _ in decode_targets(row, num_types=2, num_words=count, target_mode=mode)[0]
    ]
    assert found and all(len(fragments) == 1 for fragments, _ in found)
    single = PointerConstraintLogitsProcessor(2, torch.tensor([9]), mode, discontinuous=False)
    after_word_1 = single(torch.tensor([[START_ID, 4 + 1]]), torch.zeros(1, 4 + 12))[0] > float("-inf")
    # all_words: a type or the next word; fragment_bounds: the fragment's end (word 1 or later), no type yet
    expected = [FIRST_TYPE_ID, FIRST_TYPE_ID + 1, 4 + 2] if mode == "all_words" else [4 + w for w in range(1, 9)]
    assert after_word_1.nonzero().flatten().tolist() == expected
    after_pair = single(torch.tensor([[START_ID, 4 + 1, 4 + 2]]), torch.zeros(1, 4 + 12))[0] > float("-inf")
    if mode == "fragment_bounds":  # one pair closes the fragment: only a type may follow
        assert after_pair.nonzero().flatten().tolist() == [FIRST_TYPE_ID, FIRST_TYPE_ID + 1]
