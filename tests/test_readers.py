import json

import pytest

from multiner.readers import (
    ade_fold,
    entity_types_of,
    iob_to_spans,
    read_conll,
    read_discontinuous,
    read_relation_jsonl,
    read_spert_json,
    read_word_span_jsonl,
    remove_overlapping_entities,
    sentences_to_text,
    words_to_text,
    write_relation_jsonl,
)


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
        {"tokens": ["John", "lives"], "entities": [{"start": 0, "end": 1, "label": "Peop"}], "relations": []}
    ]


def test_relations_round_trip_from_spert_to_raw_text_jsonl(tmp_path):
    spert = tmp_path / "spert.json"
    records = [
        {
            "tokens": ["John", "Smith", "lives", "in", "Berlin", "."],
            "entities": [{"type": "Peop", "start": 0, "end": 2}, {"type": "Loc", "start": 4, "end": 5}],
            "relations": [{"type": "Live_In", "head": 0, "tail": 1}],
        }
    ]
    spert.write_text(json.dumps(records))
    (example,) = read_spert_json(spert)
    assert example["relations"] == [{"head": 0, "tail": 1, "type": "Live_In"}]
    text = words_to_text(example)
    assert [text["text"][e["start"] : e["end"]] for e in text["entities"]] == ["John Smith", "Berlin"]
    write_relation_jsonl(tmp_path / "out.jsonl", [text])
    assert read_relation_jsonl(tmp_path / "out.jsonl") == [text]
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "entities": [{"start": 0}]}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1: .*'end'"):
        read_relation_jsonl(tmp_path / "bad.jsonl")


def test_remove_overlapping_entities_keeps_the_longer_and_reindexes_relations():
    example = {
        "tokens": list("abcdef"),
        "entities": [
            {"start": 0, "end": 1, "label": "Drug"},
            {"start": 2, "end": 5, "label": "Effect"},
            {"start": 3, "end": 4, "label": "Effect"},
        ],
        "relations": [{"head": 1, "tail": 0, "type": "Adverse"}, {"head": 2, "tail": 0, "type": "Adverse"}],
    }
    (kept,), removed = remove_overlapping_entities([example])
    assert [(e["start"], e["end"]) for e in kept["entities"]] == [(0, 1), (2, 5)]
    assert kept["relations"] == [{"head": 1, "tail": 0, "type": "Adverse"}]
    assert removed == {"entities": 1, "relations": 1}


def test_ade_folds_partition_the_full_set(shared_data):
    train, test = ade_fold(shared_data / "ade", 0)
    assert len(train) + len(test) == 4272 and len(test) == 427
    assert all("relations" in example for example in train)
    _, removed = remove_overlapping_entities(train + test)
    assert removed["entities"] == 120  # what Crone (2020) reports removing from ADE


def test_discontinuous_format_round_trip_to_raw_text(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(
        "Took one pill and 20 minutes later had intense pelvic and back pain .\n8,9,12,12 ADR|11,12 ADR\n\n"
        "Hunger pangs .\n\n\nNo effects .\n0,0 ADR\n\n"
    )
    examples = read_discontinuous(path)
    assert [len(example["entities"]) for example in examples] == [2, 0, 1]
    pelvic = examples[0]["entities"][0]
    assert pelvic["fragments"] == [{"start": 8, "end": 10}, {"start": 12, "end": 13}]
    assert (pelvic["start"], pelvic["end"]) == (8, 13)
    text = words_to_text(examples[0])
    fragments = [text["text"][f["start"] : f["end"]] for f in text["entities"][0]["fragments"]]
    assert fragments == ["intense pelvic", "pain"]
    assert text["text"][text["entities"][1]["start"] : text["entities"][1]["end"]] == "back pain"


def test_real_cadec_matches_its_documented_sizes(shared_data):
    for split, sentences, mentions, discontinuous in (("train", 5340, 4430, 491), ("dev", 1097, 898, 94)):
        examples = read_discontinuous(shared_data / "cadec" / f"{split}.txt")
        entities = [entity for example in examples for entity in example["entities"]]
        assert (len(examples), len(entities)) == (sentences, mentions)
        assert sum(len(entity["fragments"]) > 1 for entity in entities) == discontinuous


def test_real_datasets_match_their_documented_sizes(shared_data):
    dev = read_conll(shared_data / "conll2003" / "eng.testa")
    assert len(dev) == 3250 and sum(len(e["entities"]) for e in dev) == 5942
    assert entity_types_of(dev) == ["LOC", "MISC", "ORG", "PER"]
    genia = read_word_span_jsonl(shared_data / "genia" / "dev.jsonlines")
    assert len(genia) == 1765 and sum(len(e["entities"]) for e in genia) == 4714


def test_read_conll_documents_and_tab_separated_tokens_with_spaces(tmp_path):
    path = tmp_path / "tabs.conll"
    path.write_text("-DOCSTART-\tO\n\nNew York\tB-LOC\nis\tO\nbig\tO\n\nHe\tO\n\n-DOCSTART-\tO\n\nLa Paz\tB-LOC\n")
    documents = read_conll(path, documents=True)
    assert documents == [
        [
            {"tokens": ["New York", "is", "big"], "entities": [{"start": 0, "end": 1, "label": "LOC"}]},
            {"tokens": ["He"], "entities": []},
        ],
        [{"tokens": ["La Paz"], "entities": [{"start": 0, "end": 1, "label": "LOC"}]}],
    ]
    assert read_conll(path) == [sentence for document in documents for sentence in document]


def test_real_conll_documents(shared_data):
    documents = read_conll(shared_data / "conll2003" / "eng.testa", documents=True)
    assert len(documents) == 216 and sum(len(document) for document in documents) == 3250


def test_sentences_to_text_moves_entities_to_character_offsets():
    sentences = [
        {"tokens": ["EU", "rejects", "German", "call"], "entities": [{"start": 2, "end": 3, "label": "MISC"}]},
        {"tokens": ["Peter", "Blackburn"], "entities": [{"start": 0, "end": 2, "label": "PER"}]},
    ]
    example = sentences_to_text(sentences)
    assert example["text"] == "EU rejects German call\nPeter Blackburn"
    assert [(example["text"][e["start"] : e["end"]], e["label"]) for e in example["entities"]] == [
        ("German", "MISC"),
        ("Peter Blackburn", "PER"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reader", "message"),
    [
        ("bad.conll", "EU\tB-ORG\nrejects\tO\n\nPeter\n", read_conll, r"bad.conll:4: expected a token and a tag"),
        ("tags.conll", "x O\n\nEU O\nrejects X-ORG\n", read_conll, r"tags.conll:3: .*'X-ORG' at position 1"),
        (
            "bad.jsonl",
            '{"tokens": [], "entity_mentions": []}\n{"tokens": [\n',
            read_word_span_jsonl,
            r"bad.jsonl:2: not",
        ),
        (
            "keys.jsonl",
            '\n{"tokens": ["a"], "mentions": []}\n',
            read_word_span_jsonl,
            r"keys.jsonl:2: .*'entity_mentions'",
        ),
        ("bad.json", '[{"tokens": ["a"],\n "entities": [}]', read_spert_json, r"bad.json:2: not JSON"),
        ("keys.json", '[{"tokens": ["a"], "entities": [{"label": "X"}]}]', read_spert_json, r"record 0: .*'type'"),
        ("cadec.txt", "a b\n0,1 ADR\n\nc d\n1,4 ADR\n", read_discontinuous, r"cadec.txt, line 5: '1,4 ADR'"),
        ("pairs.txt", "a b\n0,1,1 ADR\n", read_discontinuous, r"pairs.txt, line 2: .*not a mention"),
    ],
)
def test_reader_errors_name_the_file_and_line(tmp_path, name, content, reader, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        reader(path)
