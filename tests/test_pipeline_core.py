"""The input boundary every family's pipeline shares (`pipeline_core`, `text_core`): what a call takes is checked
before any work, and each wrong input is an error that names the input, what was given and what to pass."""

import warnings

import numpy as np
import pytest
import torch
from transformers import pipeline

TASKS = {"multi-ner": "packed_dir", "joint-er": "joint_er_dir", "seq2seq-ner": "seq2seq_dir"}


@pytest.fixture(params=list(TASKS))
def family_pipeline(request):
    return pipeline(request.param, model=request.getfixturevalue(TASKS[request.param]))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (None, r"\w+Pipeline takes a string, a list of strings, a dataset column .*; got None\."),
        ({"text": "Ada"}, r"got a dict; pass its text \(row\['text'\]\), or for a dataset KeyDataset"),
        (np.array(["Ada Lovelace"]), r"got a numpy\.ndarray; pass a list of strings \(value\.tolist\(\)\)"),
        (torch.tensor([1, 2]), r"got a torch\.Tensor; pass a list of strings"),
        (b"Ada Lovelace", r"got bytes; decode them to a string first \(value\.decode\('utf-8'\)\)"),
        (42, r"got int 42\."),
    ],
    ids=["none", "dict", "numpy", "tensor", "bytes", "int"],
)
def test_what_is_not_texts_is_a_type_error_saying_what_to_pass(family_pipeline, inputs, message):
    with pytest.raises(TypeError, match=message):
        family_pipeline(inputs)


@pytest.mark.parametrize(
    ("position", "item", "message"),
    [
        (5, None, r"Input 5: \w+Pipeline takes strings \(or lists of them\); got None"),
        (3, b"Turing", r"Input 3: .* got bytes; decode them"),
        (0, {"text": "Ada"}, r"Input 0: .* got a dict"),
        (2, ["Ada", "Lovelace"], r"Input 2: .* got list \['Ada', 'Lovelace'\]"),
        (1, "A longer text. " * 20 + "\udc80", r"Input 1 holds a lone surrogate '\\udc80' at offset 300"),
    ],
)
def test_every_item_of_a_list_is_checked_before_any_work(family_pipeline, position, item, message):
    texts = ["Ada Lovelace lived in London."] * 6
    texts[position] = item
    calls = []
    family_pipeline.model.register_forward_pre_hook(lambda module, args: calls.append(1))
    with pytest.raises(ValueError, match=message):
        family_pipeline(texts, batch_size=2)
    with pytest.raises(ValueError, match=message):
        family_pipeline(tuple(texts), batch_size=2)
    assert calls == []  # found before the model ran on the good ones (a list runs shortest first: this one last)


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_a_stream_gives_every_result_before_its_bad_item_then_the_error(family_pipeline, batch_size):
    good = ["Ada Lovelace lived in London.", "Alan Turing.", "Grace Hopper met Ada in Paris."]
    expected = family_pipeline(good)
    results = []
    with pytest.raises(ValueError, match=r"Input 3: .* got int 7"):
        for result in family_pipeline((text for text in [*good, 7, "never read"]), batch_size=batch_size):
            results.append(result)
    # the items before the bad one, in the same group or not, are not lost (scores move with the batch's padding)
    assert without_scores(results) == without_scores(expected)
    assert scores_of(results) == pytest.approx(scores_of(expected), abs=1e-4)
    with pytest.raises(ValueError, match=r"Input 1 holds a lone surrogate"):
        for result in family_pipeline(iter([good[0], "Tur\udc80ing"]), batch_size=batch_size):
            assert without_scores(result) == without_scores(expected[0])


def test_a_list_runs_in_groups_of_about_as_many_tokens_results_in_its_order(family_pipeline):
    """A list is sorted by tokens, not characters, before it is cut into groups of `batch_size` (the least padding);
    results come back in the caller's order, as each text gives alone (scores move with the batch's padding)."""
    texts = [
        "a b c d e f g h i j",
        "Ada met Alan.",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "Grace Hopper met Ada.",
    ]
    tokens = [len(family_pipeline.tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
    by_tokens = sorted(texts, key=lambda text: tokens[texts.index(text)])
    assert by_tokens != sorted(texts, key=len)  # the two orders differ here, or the test proves nothing
    groups, preprocess = [], family_pipeline.preprocess
    family_pipeline.preprocess = lambda group, **options: (groups.append(list(group)), preprocess(group, **options))[1]
    found = family_pipeline(texts, batch_size=2)
    assert groups == [by_tokens[:2], by_tokens[2:]]
    alone = [family_pipeline(text) for text in texts]
    assert without_scores(found) == without_scores(alone)
    assert scores_of(found) == pytest.approx(scores_of(alone), abs=1e-4)
    groups.clear()
    family_pipeline([text.split() for text in texts], is_split_into_words=True, batch_size=2)
    assert groups == [[tuple(text.split()) for text in by_tokens[:2]], [tuple(text.split()) for text in by_tokens[2:]]]


def entities_of(found) -> list[dict]:
    return found["entities"] if isinstance(found, dict) else found


def test_word_lists_with_is_split_into_words_give_word_offsets(family_pipeline):
    """As transformers' token-classification pipeline: `is_split_into_words=True` takes word lists (one list is one
    input); the model reads the same tokens as the words' text, and offsets count words."""
    texts = ["Ada Lovelace lived in London .", "Grace Hopper met Ada in Paris ."]
    words = [text.split() for text in texts]
    from_texts = family_pipeline(texts)
    from_words = family_pipeline(words, is_split_into_words=True)
    assert sum(len(entities_of(found)) for found in from_texts) > 0
    for text_found, word_found, sentence in zip(from_texts, from_words, words):
        for by_text, by_words in zip(entities_of(text_found), entities_of(word_found), strict=True):
            assert (by_words["entity_group"], by_words["word"]) == (by_text["entity_group"], by_text["word"])
            assert by_words["score"] == pytest.approx(by_text["score"], abs=1e-5)
            assert " ".join(sentence[by_words["start"] : by_words["end"]]) == by_words["word"]
    assert without_scores(family_pipeline(words[0], is_split_into_words=True)) == without_scores(from_words[0])
    assert without_scores(list(family_pipeline(iter(words), is_split_into_words=True))) == without_scores(from_words)
    assert family_pipeline([], is_split_into_words=True) == []
    with pytest.raises(TypeError, match=r"With is_split_into_words=True, \w+Pipeline takes a list of words or a list"):
        family_pipeline(texts[0], is_split_into_words=True)
    with pytest.raises(ValueError, match=r"Input 1: with is_split_into_words=True, .* got str 'Alan Turing'"):
        family_pipeline([words[0], "Alan Turing"], is_split_into_words=True)
    with pytest.raises(ValueError, match=r"Input 0 must be a non-empty string or a non-empty list of non-empty words"):
        family_pipeline(["Ada", 3], is_split_into_words=True)
    with pytest.raises(TypeError, match=r"is_split_into_words must be True or False, got 'yes'"):
        family_pipeline(words, is_split_into_words="yes")
    with pytest.raises(TypeError, match=r"unknown option 'is_split_into_word'\. Did you mean 'is_split_into_words'"):
        family_pipeline(texts, is_split_into_word=True)


def test_the_processor_refuses_what_is_not_text_or_words(family_pipeline):
    processor = family_pipeline.processor
    with pytest.raises(TypeError, match=r"text= takes a string or a list of strings; got int 123"):
        processor(text=123)
    with pytest.raises(ValueError, match=r"Give exactly one of text= \(strings\) or tokens="):
        processor(text=None, tokens=None)
    with pytest.raises(TypeError, match=r"tokens= takes a list of words or a list of word lists; got str .*use text="):
        processor(tokens="Ada Lovelace")
    with pytest.raises(ValueError, match=r"Input 1: tokens= takes lists of words; got str 'Alan Turing'"):
        processor(tokens=[["Ada", "Lovelace"], "Alan Turing"])
    with pytest.raises(ValueError, match=r"Input 0 holds a lone surrogate '\\udc80' at offset 3"):
        processor(tokens=["Ada", "Lov\udc80"])
    batch = processor(tokens=[["Ada", "Lovelace"], ("Alan", "Turing")])  # tuples of words are word lists too
    assert len(batch["input_ids"]) >= 2


def test_workers_are_not_used_and_a_positive_count_says_so(family_pipeline):
    with pytest.warns(UserWarning, match=r"num_workers=2 is not used: .* Leave num_workers out"):
        assert family_pipeline([], num_workers=2) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert family_pipeline([], num_workers=0) == []


def without_scores(value):
    if isinstance(value, dict):
        return {key: without_scores(item) for key, item in value.items() if key != "score"}
    return [without_scores(item) for item in value] if isinstance(value, list) else value


def scores_of(value) -> list[float]:
    if isinstance(value, dict):
        own = [value["score"]] if "score" in value else []
        return own + [score for item in value.values() for score in scores_of(item)]
    return [score for item in value for score in scores_of(item)] if isinstance(value, list) else []


def test_preprocess_names_a_bad_row_by_the_dataset_row_number_when_given_indices(family_pipeline):
    import datasets

    processor = family_pipeline.processor
    label = processor.entity_types[0]
    rows = [{"text": "Ada Lovelace lived in London.", "entities": [{"start": 0, "end": 3, "label": label}]}] * 5
    rows[3] = {"text": "Alan Turing.", "entities": [{"start": 0, "end": 4, "label": "NOT_A_TYPE"}]}
    data = datasets.Dataset.from_list(rows)
    with pytest.raises(
        ValueError,
        match=r"^Input 1: unknown entity type 'NOT_A_TYPE'.*numbered within this call.*"
        r"with_indices=True",
    ):
        data.map(processor.preprocess, batched=True, batch_size=2, remove_columns=data.column_names)
    with pytest.raises(ValueError, match=r"^Input 3: unknown entity type 'NOT_A_TYPE'[^(]*$"):
        data.map(processor.preprocess, batched=True, batch_size=2, with_indices=True, remove_columns=data.column_names)
    with pytest.raises(ValueError, match=r"^Input 3: unknown entity type"):
        data.map(processor.preprocess, with_indices=True, remove_columns=data.column_names)  # one example per call
    good = data.select([0, 1, 2, 4])
    numbered = good.map(processor.preprocess, batched=True, with_indices=True, remove_columns=data.column_names)
    plain = good.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    assert numbered.to_list() == plain.to_list()  # the numbers name inputs in errors, nothing else
