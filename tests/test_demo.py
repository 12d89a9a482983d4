"""The main job's entry point (`python -m multiner.demo`), on a tiny encoder so that it runs in seconds."""

import json

from transformers import AutoModel, AutoProcessor

from multiner import demo
from multiner.readers import sample_dataset


def test_demo_trains_evaluates_saves_and_reloads(bert_dir, tmp_path, capsys):
    folder = tmp_path / "demo"
    metrics = demo.main(["--epochs", "1", "--output_dir", str(folder), "--encoder", bert_dir])
    assert set(metrics) == {"sentence_f1", "document_f1"} and all(0.0 <= f1 <= 1.0 for f1 in metrics.values())
    printed = capsys.readouterr().out
    assert f"strict span F1 {metrics['sentence_f1']:.3f} one sentence at a time" in printed
    assert f"{metrics['document_f1']:.3f} all in one text" in printed
    assert demo.PARAGRAPH in printed
    model, processor = AutoModel.from_pretrained(folder), AutoProcessor.from_pretrained(folder)
    assert model.config.entity_types == processor.entity_types == demo.ENTITY_TYPES
    assert json.loads((folder / "config.json").read_text())["custom_pipelines"]


def test_sample_data_is_text_with_character_offsets():
    for split, size, documents in (("train", 240, False), ("dev", 60, False), ("train", None, True)):
        rows = sample_dataset(split, documents=documents)
        if size:
            assert len(rows) == size
        else:  # the 240 sentences, then each in one of 60 to 120 documents of 2 to 4 sentences
            assert 240 + 60 <= len(rows) <= 240 + 120 and rows[:240] == sample_dataset(split)[:]
            assert sum(len(row["entities"]) for row in rows.select(range(240, len(rows)))) == sum(
                len(row["entities"]) for row in rows.select(range(240))
            )
        for row in rows:
            for entity in row["entities"]:
                assert entity["label"] in demo.ENTITY_TYPES
                assert 0 <= entity["start"] < entity["end"] <= len(row["text"])
                assert (
                    row["text"][entity["start"] : entity["end"]].strip()
                    == row["text"][entity["start"] : entity["end"]]
                )


def test_every_sample_set_joins_into_documents_with_its_fragments_and_relations():
    """The joint ER and seq2seq samples: the words of every entity (each fragment) and every relation's arguments
    read the same in the joined documents as in the sentences they come from."""
    for kind in ("relations", "discontinuous"):
        sentences = sample_dataset("train", kind=kind)
        rows = sample_dataset("train", kind=kind, documents=True)
        assert len(sentences) == 240 and rows[:240] == sentences[:]

        def words(row):
            spans = [e.get("fragments") or [e] for e in row["entities"]]
            named = [tuple(row["text"][f["start"] : f["end"]] for f in fragments) for fragments in spans]
            relations = [(named[r["head"]], named[r["tail"]], r["type"]) for r in row.get("relations") or []]
            return named, relations

        joined = [words(row) for row in rows.select(range(240, len(rows)))]
        assert sorted(n for named, _ in joined for n in named) == sorted(n for s in sentences for n in words(s)[0])
        assert sorted(r for _, relations in joined for r in relations) == sorted(
            r for s in sentences for r in words(s)[1]
        )
    discontinuous = sample_dataset("dev", kind="discontinuous")
    assert any(len(e.get("fragments") or []) == 2 for row in discontinuous for e in row["entities"])
    assert {e["label"] for row in discontinuous for e in row["entities"]} == {"ADR", "Drug"}
    relations = sample_dataset("dev", kind="relations")
    assert {r["type"] for row in relations for r in row["relations"]} == {"Based_In", "Live_In", "Work_For"}
