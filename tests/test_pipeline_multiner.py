"""The inference pipeline, and self-contained Hub-ready folders that load without multiner installed."""

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import processor_for, train_tiny_model
from transformers import AutoModel, AutoProcessor, pipeline

from multiner import MultiNerPipeline

TYPES = ["PER", "LOC", "ORG"]
SENTENCES = [
    ("Ada Lovelace lived in London.", [(0, 12, "PER"), (22, 28, "LOC")]),
    ("The Bank of England hired Alan Turing.", [(4, 19, "ORG"), (12, 19, "LOC"), (26, 37, "PER")]),
    ("Marie Curie moved to Paris from Warsaw.", [(0, 11, "PER"), (21, 26, "LOC"), (32, 38, "LOC")]),
    ("Nothing to find here.", []),
]


def document(order):
    """SENTENCES joined in the given order, with the entities shifted to the joined text."""
    pieces, entities, offset = [], [], 0
    for index in order:
        text, spans_of_text = SENTENCES[index]
        pieces.append(text)
        entities += [(offset + s, offset + e, label) for s, e, label in spans_of_text]
        offset += len(text) + 1
    return " ".join(pieces), entities


@pytest.fixture(scope="module")
def model_dir(bert_dir, tmp_path_factory):
    """A tiny model trained until it knows SENTENCES, alone and in multi-sentence documents split into windows of
    64 tokens, saved with its processor."""
    generator = random.Random(0)
    documents = SENTENCES + [document(generator.choices(range(4), k=8)) for _ in range(12)]
    folder = tmp_path_factory.mktemp("pipeline-model")
    return train_tiny_model(bert_dir, folder, documents, epochs=40, max_length=64, stride=24)


def spans(entities):
    return {(e["start"], e["end"], e["entity_group"]) for e in entities}


def test_pipeline_returns_sorted_json_safe_entities(model_dir):
    ner = pipeline("multi-ner", model=model_dir)
    assert isinstance(ner, MultiNerPipeline)
    text, gold = SENTENCES[1]
    entities = ner(text)
    assert spans(entities) == set(gold)
    assert [e["start"] for e in entities] == sorted(e["start"] for e in entities)
    assert all(e["word"] == text[e["start"] : e["end"]] and type(e["score"]) is float for e in entities)
    json.dumps(entities)


def test_flat_keeps_non_overlapping_entities(model_dir):
    ner = pipeline("multi-ner", model=model_dir)
    nested = ner(SENTENCES[1][0])
    flat = ner(SENTENCES[1][0], flat=True)
    assert all(a["end"] <= b["start"] for a, b in zip(flat, flat[1:]))
    assert len(flat) < len(nested) and spans(flat) <= spans(nested)
    # every entity left out overlaps a kept one that scores at least as high
    for left_out in [e for e in nested if e not in flat]:
        assert any(
            k["start"] < left_out["end"] and left_out["start"] < k["end"] and k["score"] >= left_out["score"]
            for k in flat
        )


def test_lists_generators_batches_and_empty_texts(model_dir):
    ner = pipeline("multi-ner", model=model_dir)
    texts = [text for text, _ in SENTENCES] + ["", "   "]
    expected = [set(gold) for _, gold in SENTENCES] + [set(), set()]
    assert [spans(found) for found in ner(texts, batch_size=3)] == expected
    assert [spans(found) for found in ner((text for text in texts), batch_size=2)] == expected
    assert ner("") == []


def test_non_string_input_is_a_clear_error(model_dir):
    ner = pipeline("multi-ner", model=model_dir)
    with pytest.raises(ValueError, match="takes strings"):
        ner([42])


def test_entity_type_subset_runs_only_those_queries(model_dir):
    ner = pipeline("multi-ner", model=model_dir)
    shapes = []
    ner.model.encoder.register_forward_hook(
        lambda module, args, kwargs, output: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    found = ner(SENTENCES[0][0], entity_types=["LOC"])
    assert {e["entity_group"] for e in found} == {"LOC"}
    assert shapes[0][0] == 1  # one sequence: 1 text x 1 type


def test_long_text_is_windowed_and_merged(model_dir):
    """A text of several thousand characters in windows of 64 tokens: every entity is found, those cut in two by a
    window border included, with exact offsets. (The tiny model also adds some spans across sentences; that is the
    model's error, not the windowing's: the processor tests prove the merge exact on gold logits.)"""
    ner = pipeline("multi-ner", model=model_dir)
    text, gold = document([index % 3 for index in range(90)])
    batch = ner.processor(text)
    assert len(text) > 3000 and len(batch.windows) > 10
    context = batch.contexts[0]
    first_token = {start: i for i, (start, _) in enumerate(context.offsets)}
    last_token = {end: i for i, (_, end) in enumerate(context.offsets)}
    cut_by_a_border = [
        (s, e, label)
        for s, e, label in gold
        if any(first_token[s] < window.stop <= last_token[e] for window in batch.windows)
    ]
    assert len(cut_by_a_border) >= 5

    found = ner(text)
    assert set(gold) <= spans(found)
    assert all(e["word"] == text[e["start"] : e["end"]] for e in found)
    with torch.no_grad():
        direct = ner.processor.decode(ner.model(**batch, span_threshold=0.5), batch)[0]
    assert found == direct


def test_windows_go_through_the_model_batch_size_at_a_time(model_dir):
    """Memory is bounded by batch_size windows per forward pass, whatever the text length, and chunking changes
    nothing in the result."""
    ner = pipeline("multi-ner", model=model_dir)
    text, gold = document([index % 3 for index in range(90)])
    rows = []
    ner.model.register_forward_hook(
        lambda module, args, kwargs, output: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    whole = ner(text, batch_size=256)
    windows = len(ner.processor(text).windows)
    assert rows == [windows] and windows > 10
    rows.clear()
    assert ner(text, batch_size=3) == whole
    assert max(rows) == 3 and sum(rows) == windows
    rows.clear()
    assert ner(text) == whole  # no batch_size: the default bounds the windows too
    assert max(rows) == 8
    rows.clear()
    # a list: texts grouped batch_size at a time, and their windows batch_size at a time
    found = ner([text, SENTENCES[0][0], text], batch_size=4)
    assert found == [whole, ner(SENTENCES[0][0]), whole] and max(rows) <= 4


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"treshold": 0.9}, TypeError, "unknown option 'treshold'. Did you mean 'threshold'"),
        ({"aggregation_strategy": "first"}, TypeError, "unknown option 'aggregation_strategy'"),
        ({"flat": "no"}, TypeError, "flat must be True or False"),
        ({"flat": 1}, TypeError, "flat must be True or False"),
        ({"batch_size": 0}, ValueError, "batch_size=0 must be at least 1"),
        ({"batch_size": -5}, ValueError, "batch_size=-5 must be at least 1"),
        ({"batch_size": "8"}, TypeError, "batch_size must be an integer"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer"),
        ({"num_workers": -1}, ValueError, "num_workers=-1 must be at least 0"),
        ({"entity_types": "PER"}, TypeError, "entity_types must be a list of type names"),
        ({"entity_types": []}, ValueError, "entity_types is empty"),
        ({"entity_types": ["PERSON"]}, ValueError, r"entity_types: unknown entity types \['PERSON'\]"),
        ({"threshold": "high"}, TypeError, "threshold must be a number"),
        ({"threshold": -1}, ValueError, r"threshold=-1 must be a probability in \[0, 1\)"),
        ({"threshold": 1.0}, ValueError, r"threshold=1.0 must be a probability in \[0, 1\)"),
    ],
)
def test_bad_call_options_are_errors_that_name_the_option(model_dir, options, error, message):
    ner = pipeline("multi-ner", model=model_dir)
    with pytest.raises(error, match=message):
        ner(SENTENCES[0][0], **options)
    with pytest.raises(error, match=message):
        ner([], **options)  # checked before anything runs, on an empty list too
    if set(options) <= {"threshold", "flat", "entity_types", "batch_size"}:
        with pytest.raises(error, match=message):
            pipeline("multi-ner", model=model_dir, **options)  # and as pipeline() defaults


def test_empty_lists_unreadable_texts_and_errors_that_name_the_real_index(model_dir):
    ner = pipeline("multi-ner", model=model_dir)
    assert ner([]) == [] and ner(()) == []
    unreadable = "\u200b\u200b \x00\x07"  # only zero-width and control characters: no tokens
    found = ner([SENTENCES[0][0], unreadable, "", SENTENCES[1][0]], batch_size=2)
    assert found[1] == [] and found[2] == []
    assert spans(found[0]) == set(SENTENCES[0][1]) and spans(found[3]) == set(SENTENCES[1][1])
    assert ner(unreadable) == []
    # the list runs shortest first, in groups: errors still name the text's place in the caller's list
    texts = [SENTENCES[1][0], SENTENCES[2][0], "bad \udc80 byte", SENTENCES[0][0]]
    with pytest.raises(ValueError, match="Input 2 holds a lone surrogate"):
        ner(texts, batch_size=1)
    with pytest.raises(ValueError, match="Input 3: MultiNerPipeline takes strings"):
        ner(["a text", "another", "a third", 42], batch_size=2)


def test_ner_task_with_pipeline_class(model_dir):
    ner = pipeline("ner", model=model_dir, pipeline_class=MultiNerPipeline)
    assert spans(ner(SENTENCES[0][0])) == set(SENTENCES[0][1])


def test_bfloat16_and_device_map(model_dir):
    text, gold = SENTENCES[2]
    assert spans(pipeline("multi-ner", model=model_dir, dtype=torch.bfloat16, device="cpu")(text)) == set(gold)
    model = AutoModel.from_pretrained(model_dir, device_map="auto")
    ner = pipeline("multi-ner", model=model, processor=AutoProcessor.from_pretrained(model_dir))
    assert spans(ner(text)) == set(gold)


def test_processor_of_other_types_is_refused(model_dir):
    model = AutoModel.from_pretrained(model_dir)
    processor = processor_for(model_dir, entity_types=["PER", "LOC"], max_span_length=8)
    with pytest.raises(ValueError, match="differ from the model's"):
        pipeline("multi-ner", model=model, processor=processor)


def test_saved_pipeline_folder_loads_without_multiner(model_dir, tmp_path):
    ner = pipeline("multi-ner", model=model_dir)
    folder = tmp_path / "hub-ready"
    ner.save_pretrained(folder)
    files = set(os.listdir(folder))
    assert {"config.json", "model.safetensors", "processor_config.json", "tokenizer.json", "README.md"} <= files
    assert {
        "configuration_multiner.py",
        "modeling_multiner.py",
        "processing_multiner.py",
        "pipeline_multiner.py",
    } <= files
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    config = json.loads((folder / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_multiner.MultiNerModel"
    # recorded under a task of its own, so that an installed multiner's "multi-ner" task still loads the folder
    assert config["custom_pipelines"] == {
        "multi-ner-remote": {"impl": "pipeline_multiner.MultiNerPipeline", "pt": ["AutoModel"], "type": "text"}
    }

    texts = [text for text, _ in SENTENCES]
    expected = [[(e["entity_group"], e["start"], e["end"]) for e in found] for found in ner(texts)]
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["multiner"] = None  # multiner cannot be imported in this process
        import torch
        from transformers import AutoModel, AutoProcessor, pipeline
        folder, texts = {str(folder)!r}, {texts!r}
        model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        batch = processor(texts)
        with torch.no_grad():
            decoded = processor.decode(model(**batch), batch)
        ner = pipeline(model=folder, trust_remote_code=True)
        piped = ner(texts)
        triples = lambda results: [[[e["entity_group"], e["start"], e["end"]] for e in f] for f in results]
        print(json.dumps([triples(decoded), triples(piped)]))
        """
    )
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    decoded, piped = json.loads(result.stdout.strip().splitlines()[-1])
    as_tuples = [[tuple(e) for e in found] for found in decoded]
    assert as_tuples == expected
    assert [[tuple(e) for e in found] for found in piped] == expected
