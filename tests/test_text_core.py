"""The family-neutral text core: input checks, alignment, windows, merging, unrepresentable entities."""

from collections import Counter

import pytest
from transformers import AutoTokenizer

from multiner.text_core import (
    Context,
    UnrepresentableEntityWarning,
    checked_source,
    entity_dicts,
    entity_token_spans,
    is_single_example,
    make_windows,
    merge_window_spans,
    report_unrepresentable,
    sources_of,
    tokenize_context,
)


@pytest.fixture(scope="module")
def tokenizer(bert_dir):
    return AutoTokenizer.from_pretrained(bert_dir)


def words_context(count):
    """A context of `count` one-token words."""
    return Context(
        ["w"] * count, list(range(count)), [(i, i + 1) for i in range(count)], [True] * count, [True] * count
    )


def test_text_and_words_align_to_their_own_offsets(tokenizer):
    text = tokenize_context(tokenizer, "Ada Lovelacé lived", 0)
    assert text.fragment(*text.offsets[0]) == "Ada"
    assert text.fragment(0, 12) == "Ada Lovelacé"
    # every word starts and ends on a token
    assert sum(text.word_first) == sum(text.word_last) == 3
    words = tokenize_context(tokenizer, ["Ada", "Lovelace", "lived"], 1)
    assert words.offsets[0] == (0, 1) and words.offsets[-1] == (2, 3) and words.fragment(0, 2) == "Ada Lovelace"
    with pytest.raises(ValueError, match="Input 4 gives no tokens"):
        tokenize_context(tokenizer, "\u200b\u200b", 4)


def test_input_checks_name_the_input():
    assert is_single_example({"text": "a"}) and not is_single_example({"text": ["a", "b"]})
    assert is_single_example({"tokens": ["a", "b"]}) and not is_single_example({"tokens": [["a"], ["b"]]})
    with pytest.raises(ValueError, match="Input 1 is an empty or whitespace-only text"):
        sources_of({"text": ["fine", "  "]})
    with pytest.raises(ValueError, match="exactly one of 'text'"):
        sources_of({"text": ["a"], "tokens": [["a"]]})
    with pytest.raises(ValueError, match="Input 2 must be a non-empty string or a non-empty list"):
        checked_source(["a", ""], 2)


def test_gold_entities_become_token_spans_or_are_counted(tokenizer):
    context = tokenize_context(tokenizer, "Ada Lovelace met Charles Babbage in London.", 0)
    entities = [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 0, "end": 12, "label": "PER"},  # a duplicate is one span
        {"start": 1, "end": 12, "label": "PER"},  # starts inside a word
        {"start": 17, "end": 32, "label": "PER"},  # longer than 2 tokens
        {"start": 36, "end": 42, "label": "LOC"},
    ]
    skipped = Counter()
    spans = entity_token_spans(context, entities, 0, ["PER", "LOC"], 3, skipped)
    assert [(label, context.fragment(context.offsets[a][0], context.offsets[b][1])) for label, a, b in spans] == [
        (0, "Ada Lovelace"),
        (1, "London"),
    ]
    assert skipped == Counter(misaligned=1, too_long=1)
    with pytest.raises(ValueError, match="Input 0: unknown entity type 'DATE'"):
        entity_token_spans(context, [{"start": 0, "end": 3, "label": "DATE"}], 0, ["PER"], 3, Counter())
    with pytest.raises(ValueError, match="lies outside the input of length 43"):
        entity_token_spans(context, [{"start": 40, "end": 50, "label": "PER"}], 0, ["PER"], 3, Counter())


def test_decomposed_accents_stay_with_their_letter(tokenizer):
    """NFD text (letters followed by combining marks): the uncased tokenizer strips the marks, yet token offsets, gold
    offsets and the entities read back keep each mark with its letter."""
    text = "Londo\u0301n\u0301 and Cafe\u0301 Zoe\u0308\u0301x."
    context = tokenize_context(tokenizer, text, 0)
    words = [context.fragment(*offset) for offset in context.offsets]
    assert words[0] == "Londo\u0301n\u0301" and "Cafe\u0301" in words and "".join(words) == text.replace(" ", "")
    entities = [
        {"start": 0, "end": 8, "label": "LOC"},  # ends after the last accent: a word boundary
        {"start": 13, "end": 18, "label": "LOC"},
        {"start": 19, "end": 25, "label": "PER"},  # "Zoe\u0308\u0301x": marks inside the word
    ]
    skipped = Counter()
    spans = entity_token_spans(context, entities, 0, ["PER", "LOC"], 4, skipped)
    assert not skipped and len(spans) == 3
    back = {(context.offsets[first][0], context.offsets[last][1]) for _, first, last in spans}
    assert back == {(0, 8), (13, 18), (19, 25)}  # each entity read back with the offsets it was given
    with pytest.raises(ValueError, match="offset 7 splits a character"):
        entity_token_spans(context, [{"start": 0, "end": 7, "label": "LOC"}], 0, ["LOC"], 4, Counter())


def test_counts_are_reported_once_and_added_up():
    totals = Counter(misaligned=1)
    with pytest.warns(UnrepresentableEntityWarning, match="3 gold entities .* 2 because it spans more tokens"):
        report_unrepresentable(Counter(too_long=2, window=1), totals)
    assert totals == Counter(misaligned=1, too_long=2, window=1)
    report_unrepresentable(Counter(), totals)  # nothing to say: no warning (pytest fails on none only with warns)


def test_windows_cover_the_context_share_the_stride_and_cut_at_word_starts():
    first = [True, False, True, True, False, False, True, True, True, False] * 3
    context = Context("x" * 30, list(range(30)), [(i, i + 1) for i in range(30)], first, first[1:] + [True])
    windows = make_windows(context, 0, size=8, stride=3)
    assert windows[0].start == 0 and windows[-1].stop == 30
    assert all(context.word_first[w.start] and (w.stop == 30 or context.word_first[w.stop]) for w in windows)
    assert all(w.stop - w.start <= 8 for w in windows)
    assert all(a.stop > b.start and a.overlaps_next and b.overlaps_previous for a, b in zip(windows, windows[1:]))
    single = make_windows(words_context(5), 3, size=8, stride=3)
    assert [(w.example, w.start, w.stop, w.overlaps_previous, w.overlaps_next) for w in single] == [
        (3, 0, 5, False, False)
    ]


def test_merging_trusts_the_window_that_sees_a_span_whole():
    context = words_context(12)
    windows = make_windows(context, 0, size=8, stride=4)  # [0, 8) and [4, 12)
    assert [(w.start, w.stop) for w in windows] == [(0, 8), (4, 12)]
    spans = [
        [("PER", 6, 7, 0.9), ("LOC", 1, 2, 0.8)],  # 6..7 ends on the first window's cut edge
        [("PER", 2, 4, 0.7), ("PER", 0, 1, 0.6)],  # tokens 6..8, seen whole here; 4..5 on this window's cut start
    ]
    merged = merge_window_spans(windows, spans, [context])[0]
    # 6..7 (first window) may be the cut-off part of an entity the second window sees whole: dropped; 4..5 starts on
    # the second window's cut edge and the first window sees it whole (without finding it): dropped too
    assert merged == {("LOC", 1, 3): 0.8, ("PER", 6, 9): 0.7}
    assert [e["start"] for e in entity_dicts(context, merged)] == [1, 6]
    # a span on a cut edge that no other window sees whole is kept
    edge = merge_window_spans(windows[:1], [[("ORG", 7, 7, 0.5)]], [context])[0]
    assert edge == {("ORG", 7, 8): 0.5}
    assert all(
        type(e["score"]) is float and e["word"] == " ".join(["w"] * (e["end"] - e["start"]))
        for e in entity_dicts(context, merged)
    )
