"""pipeline("seq2seq-ner"): discontinuous entities on raw text with correct character fragments, greedy and beam
search, strict options, long texts, and a saved folder that holds exactly the family's code and loads offline
without multiner."""

import json
import warnings
from pathlib import Path

import pytest
from conftest import DISCONTINUOUS, offline_fragments
from transformers import pipeline
from transformers.dynamic_module_utils import get_relative_import_files

import multiner
from multiner.evaluation import fragment_scores

TEXTS = [example["text"] for example in DISCONTINUOUS]


def summary(entities):
    return [(e["entity_group"], [(f["start"], f["end"]) for f in e["fragments"]]) for e in entities]


@pytest.fixture(scope="module")
def extract(seq2seq_dir):
    return pipeline("seq2seq-ner", model=seq2seq_dir)


def test_tiny_model_memorises_discontinuous_nested_and_flat_entities(extract):
    found = extract(TEXTS)
    scores = fragment_scores(DISCONTINUOUS, found)
    assert scores["all"]["f1"] == 1.0 and scores["discontinuous"]["f1"] == 1.0
    assert scores["discontinuous"]["gold"] == 2
    cramps = next(e for e in found[1] if len(e["fragments"]) == 2)
    assert cramps["word"] == "muscle cramps"
    assert [TEXTS[1][f["start"] : f["end"]] for f in cramps["fragments"]] == ["muscle", "cramps"]
    assert (cramps["start"], cramps["end"]) == (16, 38)


def test_output_is_json_serialisable_with_python_floats(extract):
    found = extract(TEXTS[0])
    assert json.loads(json.dumps(found)) == found
    for entity in found:
        assert type(entity["score"]) is float and 0.0 < entity["score"] <= 1.0
        for fragment in entity["fragments"]:
            assert TEXTS[0][fragment["start"] : fragment["end"]] == fragment["word"]
        if len(entity["fragments"]) == 1:
            assert TEXTS[0][entity["start"] : entity["end"]] == entity["word"]


def test_output_cut_by_max_new_tokens_is_counted_and_warned(extract):
    """The memorised texts need more than two output tokens each: with max_new_tokens=2 their outputs stop short, and
    the call says so (it returned fewer entities, silently)."""
    with pytest.warns(multiner.LostOutputWarning, match=r"\d window\(s\) whose output stopped at max_new_tokens"):
        cut = extract(TEXTS, max_new_tokens=2)
    full = extract(TEXTS)
    assert sum(map(len, cut)) < sum(map(len, full))
    with warnings.catch_warnings():
        warnings.simplefilter("error", multiner.LostOutputWarning)  # nothing lost: no warning
        assert extract(TEXTS) == full


def test_beam_search_finds_the_same_entities(extract):
    assert [summary(found) for found in extract(TEXTS, num_beams=3)] == [summary(found) for found in extract(TEXTS)]


def test_long_text_is_read_in_windows(seq2seq_dir):
    processor = multiner.Seq2SeqNerProcessor.from_pretrained(seq2seq_dir, max_length=24, stride=6)
    short = pipeline("seq2seq-ner", model=seq2seq_dir, processor=processor)
    document = " ".join(TEXTS * 4)
    assert len(processor.tokenize(text=document).windows) > 3
    found = short(document)
    keys = [(e["entity_group"], tuple((f["start"], f["end"]) for f in e["fragments"])) for e in found]
    assert len(keys) == len(set(keys))  # an entity seen by two overlapping windows comes back once
    for entity in found:
        assert all(document[f["start"] : f["end"]] == f["word"] for f in entity["fragments"])
    assert found == short([document])[0]


def test_options_are_strict(extract):
    with pytest.raises(TypeError, match="Did you mean 'num_beams'"):
        extract(TEXTS[0], num_beam=2)
    with pytest.raises(ValueError, match="num_beams=0 must be a positive integer"):
        extract(TEXTS[0], num_beams=0)
    with pytest.raises(ValueError, match="Input 1: Seq2SeqNerPipeline takes strings"):
        extract([TEXTS[0], 42])
    assert extract(["", "   "]) == [[], []]
    assert extract([]) == []


def test_folder_holds_the_family_code_and_a_card(seq2seq_dir):
    folder = Path(seq2seq_dir)
    package = Path(multiner.__file__).parent
    modules = ["configuration_seq2seq.py", "modeling_seq2seq.py", "processing_seq2seq.py", "pipeline_seq2seq.py"]
    needed = set(modules)
    for module in modules:
        needed |= {Path(path).name for path in get_relative_import_files(str(package / module))}
    assert {path.name for path in folder.glob("*.py")} == needed
    assert not any(name.endswith(("multiner.py", "joint_er.py")) for name in needed)  # no other family's code
    config = json.loads((folder / "config.json").read_text())
    assert config["custom_pipelines"]["seq2seq-ner-remote"]["impl"] == "pipeline_seq2seq.Seq2SeqNerPipeline"
    card = (folder / "README.md").read_text()
    assert "| ADR, Drug |" in card and "each fragment's first and last word" in card


def test_folder_loads_and_predicts_without_multiner(seq2seq_dir, extract, tmp_path):
    expected = [summary(found) for found in extract(TEXTS)]
    loaded = offline_fragments(seq2seq_dir, TEXTS, tmp_path, num_beams=2)
    assert [[(label, [tuple(f) for f in fragments]) for label, fragments in found] for found in loaded] == expected
