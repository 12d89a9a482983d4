"""The main job's entry point (`python -m multiner.demo`), on a tiny encoder so that it runs in seconds."""

import json

from transformers import AutoModel, AutoProcessor

from multiner import demo


def test_demo_trains_evaluates_saves_and_reloads(bert_dir, tmp_path, capsys):
    folder = tmp_path / "demo"
    metrics = demo.main(["--epochs", "1", "--output_dir", str(folder), "--encoder", bert_dir])
    assert 0.0 <= metrics["eval_f1"] <= 1.0 and {"eval_precision", "eval_recall"} <= set(metrics)
    printed = capsys.readouterr().out
    assert f"strict span F1 {metrics['eval_f1']:.3f}" in printed
    assert all(sentence in printed for sentence in demo.SENTENCES)
    model, processor = AutoModel.from_pretrained(folder), AutoProcessor.from_pretrained(folder)
    assert model.config.entity_types == processor.entity_types == demo.ENTITY_TYPES
    assert json.loads((folder / "config.json").read_text())["custom_pipelines"]


def test_sample_data_is_text_with_character_offsets():
    for split, size in (("train", 240), ("dev", 60)):
        rows = demo.sample_dataset(split)
        assert len(rows) == size
        for row in rows:
            for entity in row["entities"]:
                assert entity["label"] in demo.ENTITY_TYPES
                assert 0 <= entity["start"] < entity["end"] <= len(row["text"])
                assert (
                    row["text"][entity["start"] : entity["end"]].strip()
                    == row["text"][entity["start"] : entity["end"]]
                )
