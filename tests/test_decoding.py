"""Span decoding from logits, and flat resolution."""

from unittest import mock

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from multiner import decoding
from multiner.decoding import decode_spans, keep_non_overlapping, probabilities


def logit(p):
    return float(np.log(p / (1 - p)))


def test_probabilities_take_tensors_of_any_dtype_and_never_overflow():
    values = probabilities(torch.tensor([-1e4, 0.0, 1e4], dtype=torch.bfloat16))
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0], atol=1e-6)
    assert probabilities(np.array([-800.0]))[0] == 0.0


def test_nested_spans_are_all_kept_with_the_geometric_mean_as_score():
    # one row, 4 tokens, max span 4, 2 types; type 0: tokens 0..2 and (nested) 1..1; type 1: tokens 3..3
    start = np.full((1, 4, 2), -9.0)
    end = np.full((1, 4, 2), -9.0)
    span = np.full((1, 4, 4, 2), -9.0)
    start[0, 0, 0], end[0, 2, 0], span[0, 0, 2, 0] = logit(0.9), logit(0.8), logit(0.7)
    start[0, 1, 0], end[0, 1, 0], span[0, 1, 0, 0] = logit(0.6), logit(0.6), logit(0.6)
    start[0, 3, 1], end[0, 3, 1], span[0, 3, 0, 1] = logit(0.99), logit(0.99), logit(0.99)
    found = decode_spans(start, end, span)[0]
    assert sorted(item[:3] for item in found) == [(0, 0, 2), (0, 1, 1), (1, 3, 3)]
    scores = {item[:3]: item[3] for item in found}
    assert abs(scores[(0, 0, 2)] - (0.9 * 0.8 * 0.7) ** (1 / 3)) < 1e-5
    assert all(type(item[3]) is float for item in found)


def test_each_of_the_three_scores_must_clear_the_threshold():
    start, end, span = np.full((1, 2, 1), 2.0), np.full((1, 2, 1), 2.0), np.full((1, 2, 2, 1), 2.0)
    span[0, 0, 1, 0] = logit(0.4)  # the span 0..1 fails its match score only
    found = {item[:3] for item in decode_spans(start, end, span, threshold=0.5)[0]}
    assert found == {(0, 0, 0), (0, 1, 1)}
    assert {item[:3] for item in decode_spans(start, end, span, threshold=0.3)[0]} == {(0, 0, 0), (0, 1, 1), (0, 0, 1)}
    # span offsets past the end of the context do not exist
    assert all(last < 2 for _, _, last, _ in decode_spans(start, end, span, threshold=0.0)[0])


def test_flat_resolution_keeps_the_best_of_overlapping_items_in_order():
    items = [("a", 0, 5, 0.9), ("b", 3, 8, 0.95), ("c", 8, 9, 0.1), ("d", 0, 2, 0.5)]
    kept = keep_non_overlapping(items, lambda item: (item[1], item[2]), lambda item: item[3])
    assert [item[0] for item in kept] == ["d", "b", "c"]


def quadratic_keep_non_overlapping(items, bounds, score):
    """The rule as first written (each candidate checked against every item kept): the specification."""
    kept, taken = [], []
    for item in sorted(items, key=score, reverse=True):
        start, end = bounds(item)
        if all(end <= other_start or other_end <= start for other_start, other_end in taken):
            kept.append(item)
            taken.append((start, end))
    return sorted(kept, key=bounds)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 6), st.sampled_from([0.1, 0.5, 0.5, 0.9])), max_size=40))
def test_flat_resolution_is_the_quadratic_rule_on_random_items(spans):
    """Same items kept, in the same order, as the rule it replaces: ties in score, equal and empty bounds included."""
    items = [(index, start, start + width, score) for index, (start, width, score) in enumerate(spans)]
    arguments = (lambda item: (item[1], item[2]), lambda item: item[3])
    expected = quadratic_keep_non_overlapping(items, *arguments)
    assert keep_non_overlapping(items, *arguments) == expected
    with mock.patch.object(decoding._DisjointBounds, "BLOCK", 1):  # blocks of two: every split and block edge
        assert keep_non_overlapping(items, *arguments) == expected
