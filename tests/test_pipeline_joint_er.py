"""pipeline("joint-er"): entities and relations on raw text, strict options, long texts, and a saved folder that
holds exactly the family's code and loads offline without multiner."""

import json
from pathlib import Path

import pytest
from conftest import RELATIONS, offline_joint_results, train_tiny_joint_model
from transformers import pipeline
from transformers.dynamic_module_utils import get_relative_import_files

import multiner
from multiner import JointErConfig, generate_joint_er_card
from multiner.evaluation import relation_scores

TEXTS = [example["text"] for example in RELATIONS]


def summary(found):
    return (
        [(e["entity_group"], e["word"]) for e in found["entities"]],
        [
            (r["type"], found["entities"][r["head"]]["word"], found["entities"][r["tail"]]["word"])
            for r in found["relations"]
        ],
    )


@pytest.fixture(scope="module")
def extract(joint_er_dir):
    return pipeline("joint-er", model=joint_er_dir)


def test_tiny_model_memorises_entities_and_relations(extract):
    results = extract(TEXTS)
    scores = relation_scores(RELATIONS, results)
    assert scores["entities"]["micro"]["f1"] == 1.0
    assert scores["relations"]["strict"]["micro"]["f1"] == 1.0
    assert summary(results[2]) == (
        [("Peop", "Marie Curie"), ("Loc", "Paris"), ("Org", "Sorbonne")],
        [("Live_In", "Marie Curie", "Paris"), ("Work_For", "Marie Curie", "Sorbonne")],
    )


def test_output_schema_is_hf_style_and_json_serialisable(extract):
    for text, found in zip(TEXTS, extract(TEXTS)):
        assert set(found) == {"entities", "relations"}
        for entity in found["entities"]:
            assert set(entity) == {"entity_group", "score", "word", "start", "end"}
            assert entity["word"] == text[entity["start"] : entity["end"]] and type(entity["score"]) is float
        for relation in found["relations"]:
            assert set(relation) == {"type", "score", "head", "tail"} and type(relation["score"]) is float
        json.dumps(found)
    assert extract(TEXTS[0]) == extract([TEXTS[0]])[0]


def test_long_text_is_read_in_windows(extract):
    text = " ".join([TEXTS[0]] * 60)  # ~480 tokens: windows of 256
    assert len(extract.processor.tokenize(text=[text]).windows) > 1
    found = extract(text)
    for entity in found["entities"]:
        assert entity["word"] == text[entity["start"] : entity["end"]]
    # the tiny model learnt single sentences; the first copy reads as one
    assert summary(found)[0][:2] == [("Peop", "Ada Lovelace"), ("Loc", "London")]
    assert ("Live_In", "Ada Lovelace", "London") in summary(found)[1]


def test_options_are_strict(extract):
    with pytest.raises(TypeError, match="Did you mean 'relation_threshold'"):
        extract(TEXTS[0], relation_treshold=0.3)
    with pytest.raises(ValueError, match="entity_threshold applies to span heads"):
        extract(TEXTS[0], entity_threshold=0.3)
    with pytest.raises(ValueError, match="relation_threshold=2"):
        extract(TEXTS[0], relation_threshold=2)
    with pytest.raises(ValueError, match="batch_size=0"):
        extract(TEXTS[0], batch_size=0)
    with pytest.raises(ValueError, match="Input 1: JointErPipeline takes strings"):
        extract([TEXTS[0], 5])
    assert extract([]) == [] and extract("   ") == {"entities": [], "relations": []}
    # the threshold option takes effect: above a cut between the scores, exactly the relations scoring above it
    every = extract(TEXTS[0], relation_threshold=0.0)["relations"]
    cut = sorted(relation["score"] for relation in every)[len(every) // 2]
    above = extract(TEXTS[0], relation_threshold=cut)["relations"]
    assert 0 < len(above) < len(every) and above == [relation for relation in every if relation["score"] > cut]


def test_folder_holds_the_family_code_and_a_card(joint_er_dir):
    folder = Path(joint_er_dir)
    package = Path(multiner.__file__).parent
    modules = ["configuration_joint_er.py", "modeling_joint_er.py", "processing_joint_er.py", "pipeline_joint_er.py"]
    needed = set(modules)
    for module in modules:
        needed |= {Path(path).name for path in get_relative_import_files(str(package / module))}
    assert {path.name for path in folder.glob("*.py")} == needed
    assert not any("multiner.py" in name for name in needed)  # nothing of the Multi-NER family
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"]["joint-er-remote"]["impl"] == "pipeline_joint_er.JointErPipeline"
    card = (folder / "README.md").read_text()
    assert "Live_In, Work_For" in card and "BIO tags with a linear-chain CRF" in card


def test_folder_loads_and_predicts_without_multiner(joint_er_dir, extract, tmp_path):
    expected = [summary(found) for found in extract(TEXTS)]
    loaded = offline_joint_results(joint_er_dir, TEXTS, tmp_path)
    assert [[[tuple(e) for e in ents], [tuple(r) for r in rels]] for ents, rels in loaded] == [
        [list(ents), list(rels)] for ents, rels in expected
    ]


def test_start_end_span_head_learns_and_its_folder_predicts_without_multiner(bert_dir, tmp_path):
    """A tiny model with Multi-NER's start, end and span heads as its entity head and the pair context in its relation
    scorer memorises the examples through the pipeline (entity threshold option included), and its Hub folder's own
    code finds the same."""
    flat_head = {"ner_head": "start_end_span", "overlapping_entities": False, "relation_context": True}
    folder = train_tiny_joint_model(bert_dir, tmp_path / "model", **flat_head)
    extract = pipeline("joint-er", model=folder)
    results = extract(TEXTS)
    scores = relation_scores(RELATIONS, results)
    assert scores["entities"]["micro"]["f1"] == 1.0 and scores["relations"]["strict"]["micro"]["f1"] == 1.0
    assert extract(TEXTS[0], entity_threshold=0.999)["entities"] == []  # one decision point: the threshold reaches it
    loaded = offline_joint_results(folder, TEXTS, tmp_path)
    assert [[[tuple(e) for e in ents], [tuple(r) for r in rels]] for ents, rels in loaded] == [
        [list(ents), list(rels)] for ents, rels in map(summary, results)
    ]
    card = (Path(folder) / "README.md").read_text()
    assert "Multi-NER's start, end and span heads per type, plus a start / end pair every type shares" in card
    assert "words-between's mean states" in card
    assert "casing vector" not in card  # the tiny model has no word features, and its card says none


def test_card_says_how_the_span_head_treats_overlaps(extract):
    config = JointErConfig(**{**extract.model.config.to_dict(), "ner_head": "span"})
    kept = generate_joint_er_card(config, extract.processor)
    config.overlapping_entities = False
    flat = generate_joint_er_card(config, extract.processor)
    assert "overlapping and nested entities are kept" in kept and "the most probable is kept" not in kept
    assert "the most probable is kept (flat entities)" in flat and "nested entities are kept" not in flat
