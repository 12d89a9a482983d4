"""Seq2SeqNerProcessor: pointer targets from character and word offsets (discontinuous entities included), counted
losses, bad input, and decoding back to character fragments."""

from collections import Counter

import pytest
import torch
from conftest import DISCONTINUOUS, SEQ2SEQ_TYPES
from transformers import BertConfig

import multiner
from multiner.configuration_seq2seq import END_ID, START_ID
from multiner.text_core import UnrepresentableEntityWarning


@pytest.fixture(scope="module")
def processor(bert_dir):
    # the targets below are written out word by word: all_words (fragment_bounds, the default, has its own test)
    model = multiner.Seq2SeqNerModel.from_encoder(bert_dir, entity_types=SEQ2SEQ_TYPES, target_mode="all_words")
    return multiner.Seq2SeqNerProcessor.from_model(model, max_length=32, stride=8)


def config_like(processor, **fields):
    return multiner.Seq2SeqNerConfig.warm_started(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37),
        entity_types=SEQ2SEQ_TYPES,
        **fields,
    )


def test_targets_of_a_discontinuous_nested_and_flat_sentence(processor):
    row = processor.preprocess(DISCONTINUOUS[0])
    # words: I had aching in the legs and shoulders after aspirin .  -> pointers start at id 4
    tokens = processor.tokenizer.convert_ids_to_tokens(row["input_ids"])
    # aspirin is as ##pi ##rin: one word, pointed at by its first token
    words = ["i", "had", "aching", "in", "the", "legs", "and", "shoulders", "after", "as"]
    assert [tokens[i] for i in row["word_index"]][:10] == words
    aching, inside, the, legs, shoulders, aspirin = (4 + w for w in (2, 3, 4, 5, 7, 9))
    assert row["labels"] == [aching, inside, the, legs, 2, aching, inside, shoulders, 2, aspirin, 3, END_ID]
    assert row["unrepresentable"] == [0, 0, 0, 0]  # one count per reason (REASONS)


def test_word_offsets_give_the_same_targets(processor):
    example = {
        "tokens": ["I", "had", "aching", "in", "the", "legs", "and", "shoulders", "after", "aspirin", "."],
        "entities": [
            {"label": "ADR", "fragments": [{"start": 2, "end": 4}, {"start": 7, "end": 8}]},
            {"label": "ADR", "start": 2, "end": 6},
            {"label": "Drug", "start": 9, "end": 10},
        ],
    }
    assert processor.preprocess(example)["labels"] == processor.preprocess(DISCONTINUOUS[0])["labels"]


def test_fragment_bounds_targets(processor):
    bounds = multiner.Seq2SeqNerProcessor(processor.tokenizer, config_like(processor, target_mode="fragment_bounds"))
    example = {
        "text": "aching in legs and arms",
        "entities": [{"label": "ADR", "fragments": [{"start": 0, "end": 9}, {"start": 19, "end": 23}]}],
    }
    assert bounds.preprocess(example)["labels"] == [4 + 0, 4 + 1, 4 + 4, 4 + 4, 2, END_ID]
    assert config_like(processor).target_mode == "fragment_bounds"  # the default of new models


def test_touching_fragments_are_one_fragment_in_words(processor):
    example = {
        "text": "muscle pain",
        "entities": [{"label": "ADR", "fragments": [{"start": 0, "end": 6}, {"start": 7, "end": 11}]}],
    }
    assert processor.preprocess(example)["labels"] == [4, 5, 2, END_ID]


def test_a_contiguous_only_model_counts_the_discontinuous_gold_it_cannot_write(bert_dir):
    model = multiner.Seq2SeqNerModel.from_encoder(bert_dir, entity_types=SEQ2SEQ_TYPES, discontinuous=False)
    contiguous_only = multiner.Seq2SeqNerProcessor.from_model(model, max_length=32, stride=8)
    example = DISCONTINUOUS[0]
    with pytest.warns(UnrepresentableEntityWarning, match="several fragments, and the model writes contiguous"):
        rows = contiguous_only.preprocess({"text": [example["text"]], "entities": [example["entities"]]})
    several = sum(len(entity.get("fragments", [])) > 1 for entity in example["entities"])
    assert several >= 1
    assert multiner.Seq2SeqNerProcessor.count_unrepresentable(rows) == {"discontinuous": several}
    touching = {"label": "ADR", "fragments": [{"start": 0, "end": 6}, {"start": 7, "end": 11}]}  # one in words
    assert contiguous_only.preprocess({"text": "muscle pain", "entities": [touching]})["labels"] == [4, 5, 2, END_ID]


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        ({"label": "ADR", "fragments": [{"start": 10, "end": 15}, {"start": 0, "end": 5}]}, "out of order"),
        ({"label": "ADR", "fragments": [{"start": 0, "end": 9}, {"start": 7, "end": 12}]}, "out of order or overlap"),
        ({"label": "ADR", "fragments": [{"start": 0, "end": 5}, {"start": 20, "end": 99}]}, "outside the input"),
        ({"label": "ADR", "start": 0, "end": 12, "fragments": [{"start": 0, "end": 6}]}, "do not span"),
        ({"label": "Disease", "start": 0, "end": 6}, "unknown entity type 'Disease'"),
        ({"label": "ADR", "fragments": [{"start": 0}]}, "offsets must be integers"),
        ({"label": "ADR"}, "'start'/'end' or 'fragments'"),
    ],
)
def test_bad_entities_are_clear_errors(processor, entity, message):
    with pytest.raises(ValueError, match=message):
        processor.preprocess({"text": "aching in the legs", "entities": [entity]})


def test_what_cannot_be_represented_is_counted(processor):
    tight = multiner.Seq2SeqNerProcessor(
        processor.tokenizer,
        config_like(processor, max_target_length=6, target_mode="all_words"),
        max_length=16,
        stride=4,
    )
    text = "pain " * 30
    entities = [
        {"label": "ADR", "start": 1, "end": 4},  # inside a word
        {"label": "ADR", "fragments": [{"start": 0, "end": 4}, {"start": 140, "end": 144}]},  # no window holds it
        {"label": "ADR", "start": 0, "end": 4},
        {"label": "ADR", "start": 5, "end": 9},
        {"label": "ADR", "start": 10, "end": 14},  # the third target of the first window: 3 + 2 + 2 > 6 ids
    ]
    with pytest.warns(UnrepresentableEntityWarning, match="inside a word"):
        rows = tight.preprocess({"text": [text], "entities": [entities]})
    counts = multiner.Seq2SeqNerProcessor.count_unrepresentable(rows)
    assert counts == {"misaligned": 1, "window": 1, "target_length": 1}
    assert rows["labels"][0] == [4, 2, 5, 2, END_ID]
    assert all(len(labels) <= 6 for labels in rows["labels"])


def test_decoding_maps_fragments_back_to_characters(processor):
    text = DISCONTINUOUS[0]["text"]
    batch = processor([text, "No problems at all."])
    pointer = 4
    # aching in ... shoulders (ADR), aspirin (Drug); the second row writes a malformed group, then ends
    sequences = torch.tensor(
        [
            [START_ID, pointer + 2, pointer + 3, pointer + 7, 2, pointer + 9, 3, END_ID],
            [START_ID, pointer + 3, pointer + 1, 2, END_ID, END_ID, END_ID, END_ID],
        ]
    )
    with pytest.warns(multiner.LostOutputWarning, match=r"Seq2SeqNerProcessor: 1 ill-formed group\(s\)"):
        entities = processor.decode(sequences, batch)
    assert entities[1] == []
    assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in entities[0]] == [
        ("ADR", "aching in shoulders", 6, 38),
        ("Drug", "aspirin", 45, 52),
    ]
    assert entities[0][0]["fragments"] == [
        {"start": 6, "end": 15, "word": "aching in"},
        {"start": 29, "end": 38, "word": "shoulders"},
    ]
    assert all(e["score"] == 1.0 for e in entities[0])
    assert processor.window_results(sequences, batch)[1] == ([], Counter(ill_formed=1))  # not cut: it ended


def test_a_processor_for_another_layout_is_refused(processor):
    other = multiner.Seq2SeqNerProcessor(processor.tokenizer, config_like(processor, target_mode="fragment_bounds"))
    with pytest.raises(ValueError, match="target_mode='fragment_bounds'"):
        other.check_model_config(processor.model_config)


def test_processor_needs_the_model_config(processor):
    with pytest.raises(ValueError, match="reads the entity types and target mode from the model's config"):
        multiner.Seq2SeqNerProcessor(processor.tokenizer)


def test_windows_merge_an_entity_once_and_take_a_cut_one_from_the_window_that_sees_it_whole(processor):
    text = " ".join(str(number) for number in range(40))  # one token per word
    texts = processor.tokenize(text=text)
    first, second = texts.windows[:2]
    assert second.start < first.stop  # they overlap
    shared = second.start + 1  # a word both windows see whole
    edge = first.stop - 1  # the first window's cut edge
    per_window = [([], Counter()) for _ in texts.windows]
    per_window[0] = ([("ADR", ((shared, shared),), 0.6), ("ADR", ((edge - 1, edge),), 0.9)], Counter())
    per_window[1] = (
        [
            ("ADR", ((shared - second.start, shared - second.start),), 0.8),
            ("ADR", ((edge - 1 - second.start, edge + 1 - second.start),), 0.7),
        ],
        Counter(),
    )
    found = processor.results(texts, per_window)[0]
    assert [(e["word"], e["score"]) for e in found] == [(f"{shared}", 0.8), (f"{edge - 1} {edge} {edge + 1}", 0.7)]
