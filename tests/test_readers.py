import json

import pytest

from multiner.readers import entity_types_of, iob_to_spans, read_conll, read_spert_json, read_word_span_jsonl


def test_iob1_and_iob2_read_the_same_entities():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]
    expected = [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC"), (5, 6, "ORG")]
    for tags in (iob1, iob2):
        assert [(s["start"], s["end"], s["label"]) for s in iob_to_spans(tags)] == expected


def test_bad_tag_raises():
    with pytest.raises(ValueError, match="'X-PER' at position 1 is not IOB"):
        iob_to_spans(["O", "X-PER"])


def test_read_conll_columns(tmp_path):
    path = tmp_path / "sample.conll"
    path.write_text(
        "-DOCSTART- -X- O O\n\nEU NNP I-NP I-ORG\nrejects VBZ I-VP O\nGerman JJ I-NP I-MISC\n\n"
        "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\n"
    )
    examples = read_conll(path)
    assert examples == [
        {
            "tokens": ["EU", "rejects", "German"],
            "entities": [{"start": 0, "end": 1, "label": "ORG"}, {"start": 2, "end": 3, "label": "MISC"}],
        },
        {"tokens": ["Peter", "Blackburn"], "entities": [{"start": 0, "end": 2, "label": "PER"}]},
    ]


def test_read_word_spans_and_spert(tmp_path):
    genia = tmp_path / "genia.jsonlines"
    record = {
        "tokens": ["IL-2", "gene", "expression"],
        "entity_mentions": [
            {"start": 0, "end": 2, "entity_type": "DNA", "text": "IL-2 gene"},
            {"start": 0, "end": 1, "entity_type": "protein", "text": "IL-2"},
        ],
    }
    genia.write_text(json.dumps(record) + "\n")
    assert read_word_span_jsonl(genia)[0]["entities"] == [
        {"start": 0, "end": 2, "label": "DNA"},
        {"start": 0, "end": 1, "label": "protein"},
    ]
    spert = tmp_path / "spert.json"
    spert.write_text(
        json.dumps(
            [{"tokens": ["John", "lives"], "entities": [{"type": "Peop", "start": 0, "end": 1}], "relations": []}]
        )
    )
    assert read_spert_json(spert) == [
        {"tokens": ["John", "lives"], "entities": [{"start": 0, "end": 1, "label": "Peop"}]}
    ]


def test_real_datasets_match_their_documented_sizes(shared_data):
    dev = read_conll(shared_data / "conll2003" / "eng.testa")
    assert len(dev) == 3250 and sum(len(e["entities"]) for e in dev) == 5942
    assert entity_types_of(dev) == ["LOC", "MISC", "ORG", "PER"]
    genia = read_word_span_jsonl(shared_data / "genia" / "dev.jsonlines")
    assert len(genia) == 1765 and sum(len(e["entities"]) for e in genia) == 4714
