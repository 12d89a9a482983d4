"""JointErProcessor: labels in window word coordinates, relations as indices into them, everything left out counted
(overlaps under BIO tags, relations across windows), bad relations a clear error, predictions mapped back."""

import warnings

import pytest
import torch
from conftest import JOINT_ENTITY_TYPES, RELATION_TYPES, RELATIONS
from transformers import AutoConfig, AutoTokenizer

import multiner
from multiner import JointErConfig, JointErProcessor
from multiner.modeling_joint_er import JointErOutput


def processor(max_length=64, stride=8, **fields):
    """A processor for the paper's BIO-CRF model unless `fields` say otherwise."""
    encoder = AutoConfig.from_pretrained(multiner.default_encoder_path()).to_dict()
    fields = {"ner_head": "bio_crf", **fields}
    config = JointErConfig(
        encoder_config=encoder, entity_types=JOINT_ENTITY_TYPES, relation_types=RELATION_TYPES, **fields
    )
    tokenizer = AutoTokenizer.from_pretrained(multiner.default_encoder_path())
    return JointErProcessor(tokenizer, config, max_length=max_length, stride=stride)


def columns(examples):
    return {name: [example[name] for example in examples] for name in examples[0]}


def test_labels_are_window_words_and_relations_index_them():
    rows = processor().preprocess(columns(RELATIONS[:3]))
    # "Marie Curie worked in Paris for the Sorbonne ." -> words 0-1 Peop, 4 Loc, 7 Org (sorted by first token)
    assert rows["labels"][2] == [[0, 1, 2], [4, 4, 0], [7, 7, 1]]
    assert rows["relation_labels"][2] == [[0, 1, 0], [0, 2, 1]]  # (Peop, Loc, Live_In), (Peop, Org, Work_For)
    assert rows["word_ids"][0][0] == -1 and rows["word_ids"][0][1:3] == [0, 1]
    assert JointErProcessor.count_unrepresentable(rows) == {}


def overlapping_example():
    text = "The University of Manchester hired Alan Turing."
    entities = [
        {"start": 4, "end": 28, "label": "Org"},
        {"start": 18, "end": 28, "label": "Loc"},
        {"start": 35, "end": 46, "label": "Peop"},
    ]
    relations = [{"head": 2, "tail": 0, "type": "Work_For"}, {"head": 2, "tail": 1, "type": "Live_In"}]
    return {"text": text, "entities": entities, "relations": relations}


def test_bio_head_drops_overlaps_counting_them_and_their_relations():
    bio = processor()
    with pytest.warns(multiner.UnrepresentableEntityWarning, match="overlaps a longer entity"):
        rows = bio.preprocess(columns([overlapping_example()]))
    assert rows["labels"][0] == [[1, 3, 1], [5, 6, 2]]  # the longer Org kept, the nested Loc dropped
    assert rows["relation_labels"][0] == [[1, 0, 1]]
    assert JointErProcessor.count_unrepresentable(rows) == {"overlap": 1, "relation_argument": 1}
    assert bio.unrepresentable == {"overlap": 1, "relation_argument": 1}


def test_a_relation_between_two_copies_of_one_entity_is_counted():
    text = "Alan Turing worked for Manchester."
    entities = [
        {"start": 0, "end": 11, "label": "Peop"},
        {"start": 0, "end": 11, "label": "Peop"},  # the same span and type again
        {"start": 23, "end": 33, "label": "Org"},
    ]
    relations = [{"head": 0, "tail": 1, "type": "Live_In"}, {"head": 1, "tail": 2, "type": "Work_For"}]
    with pytest.warns(multiner.UnrepresentableEntityWarning, match="two copies of one entity"):
        rows = processor().preprocess(columns([{"text": text, "entities": entities, "relations": relations}]))
    assert rows["labels"][0] == [[0, 1, 2], [4, 4, 1]]
    assert rows["relation_labels"][0] == [[0, 1, 1]]  # the self-pair is not a label: it is counted instead
    assert JointErProcessor.count_unrepresentable(rows) == {"relation_self": 1}


def test_span_head_keeps_nested_entities_and_counts_too_long_ones():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = processor(ner_head="span").preprocess(columns([overlapping_example()]))
    assert len(rows["labels"][0]) == 3 and len(rows["relation_labels"][0]) == 2
    short = processor(ner_head="span", max_span_length=2)
    with pytest.warns(multiner.UnrepresentableEntityWarning, match="more words than max_span_length"):
        rows = short.preprocess(columns([overlapping_example()]))
    assert JointErProcessor.count_unrepresentable(rows) == {"too_long": 1, "relation_argument": 1}


def test_relation_across_windows_is_counted():
    filler = " and".join([" then"] * 40)
    text = "Ada Lovelace" + filler + " lived in London."
    start = text.index("London")
    example = {
        "text": text,
        "entities": [{"start": 0, "end": 12, "label": "Peop"}, {"start": start, "end": start + 6, "label": "Loc"}],
        "relations": [{"head": 0, "tail": 1, "type": "Live_In"}],
    }
    with pytest.warns(multiner.UnrepresentableEntityWarning, match="no window"):
        rows = processor(max_length=32, stride=4).preprocess(columns([example]))
    assert len(rows["input_ids"]) > 2
    assert JointErProcessor.count_unrepresentable(rows) == {"relation_window": 1}
    assert rows["unrepresentable"][1:] == [[0] * len(rows["unrepresentable"][0])] * (len(rows["input_ids"]) - 1)


@pytest.mark.parametrize(
    "relation, message",
    [
        ({"head": 0, "tail": 5, "type": "Live_In"}, r"points at entity tail=5, but the example has 2 entities"),
        ({"head": 0, "tail": 1, "type": "Born_In"}, r"unknown relation type 'Born_In'"),
        ({"head": 1, "tail": 1, "type": "Live_In"}, r"links entity 1 to itself"),
        ({"head": 0, "type": "Live_In"}, r"must be a dict with 'head', 'tail'"),
        ({"head": "0", "tail": 1, "type": "Live_In"}, r"points at entity head='0'"),
    ],
)
def test_bad_relations_are_clear_errors(relation, message):
    example = {**RELATIONS[0], "relations": [relation]}
    with pytest.raises(ValueError, match=message):
        processor().preprocess(columns([example]))


def test_decode_maps_words_back_to_characters_and_relations_to_entity_indices():
    texts = ["Ada Lovelace lived in London.", "Nothing here."]
    proc = processor()
    batch = proc(texts)
    # entities (first word, last word, type) and one relation Live_In from entity 0 to entity 1 of row 0
    spans = torch.tensor([[[0, 1, 2], [4, 4, 0]], [[-1, -1, -1], [-1, -1, -1]]])
    logits = torch.full((2, 2, 2, 2), -5.0)
    logits[0, 0, 1, 0] = 5.0
    logits[1, 0, 1, 0] = 5.0  # padding entities: never a relation
    outputs = JointErOutput(
        entity_spans=spans, entity_scores=torch.tensor([[0.9, 0.8], [0.0, 0.0]]), relation_logits=logits
    )
    found = proc.decode(outputs, batch)
    assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in found[0]["entities"]] == [
        ("Peop", "Ada Lovelace", 0, 12),
        ("Loc", "London", 22, 28),
    ]
    assert found[0]["relations"] == [
        {"type": "Live_In", "score": pytest.approx(0.9933, abs=1e-4), "head": 0, "tail": 1}
    ]
    assert found[1] == {"entities": [], "relations": []}
    assert proc.decode(outputs, batch, relation_threshold=0.999)[0]["relations"] == []
    with pytest.raises(ValueError, match="relation_threshold=1.5"):
        proc.decode(outputs, batch, relation_threshold=1.5)


def test_processor_needs_the_models_config():
    tokenizer = AutoTokenizer.from_pretrained(multiner.default_encoder_path())
    with pytest.raises(ValueError, match="reads the entity and relation types from the model's config"):
        JointErProcessor(tokenizer)


@pytest.mark.parametrize("ner_head, overlapping", [("bio_crf", False), ("span", False), ("span", True)])
def test_windows_that_disagree_give_overlapping_entities_only_to_an_overlapping_model(ner_head, overlapping):
    """Two windows each find one of two overlapping entities in the stretch they share; a flat model (BIO, or the
    span head with overlapping_entities=False) keeps the more probable one and its relations."""
    proc = processor(max_length=32, stride=8, ner_head=ner_head, overlapping_entities=overlapping)
    text = " ".join(f"word{number}" for number in range(40))
    texts = proc.tokenize(text=[text])
    first, second = texts.windows[:2]
    shared = second.start + 2  # a context token both windows see, away from their cut edges
    assert all(window.sees_whole(shared - 1, shared + 2) for window in (first, second))

    def window_result(window, entities, relations):
        return ([(label, a - window.start, b - window.start, score) for label, a, b, score in entities], relations)

    per_window = [
        window_result(
            first, [("Peop", shared, shared + 1, 0.9), ("Loc", shared - 1, shared - 1, 0.8)], [(0, 1, "Live_In", 0.7)]
        ),
        window_result(
            second,
            [("Org", shared + 1, shared + 2, 0.6), ("Loc", shared - 1, shared - 1, 0.8)],
            [(0, 1, "Work_For", 0.7)],
        ),
    ]
    per_window += [([], [])] * (len(texts.windows) - 2)
    found = proc.results(texts, per_window)[0]
    labels = [entity["entity_group"] for entity in found["entities"]]
    relations = {(labels[r["head"]], labels[r["tail"]], r["type"]) for r in found["relations"]}
    if overlapping:
        assert sorted(labels) == ["Loc", "Org", "Peop"] and len(relations) == 2
    else:
        assert sorted(labels) == ["Loc", "Peop"] and relations == {("Peop", "Loc", "Live_In")}
