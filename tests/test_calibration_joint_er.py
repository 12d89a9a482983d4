"""Calibrated thresholds of the joint family: the one-pass sweep equals running the pipeline at each threshold (BIO
and span heads, flat decoding included), the chosen thresholds go into the config, too little held-out data leaves
them alone."""

import pytest
import torch
from conftest import JOINT_ENTITY_TYPES, RELATION_TYPES, RELATIONS, joint_model
from transformers import pipeline

from multiner import JointErProcessor
from multiner.evaluation import relation_scores
from multiner.training_core import choose_threshold
from multiner.training_joint_er import calibrate_joint_thresholds, oracle_relation_scores

GRID = (0.1, 0.3, 0.5, 0.7, 0.9)
HELD_OUT = RELATIONS * 3  # 21 gold entities, 12 gold relations


def scores_at(extract, **thresholds):
    found = extract([example["text"] for example in HELD_OUT], **thresholds)
    return relation_scores(HELD_OUT, found, JOINT_ENTITY_TYPES, RELATION_TYPES)


@pytest.fixture
def bio_extract(joint_er_dir):
    return pipeline("joint-er", model=joint_er_dir)


def test_bio_model_calibrates_its_relation_threshold(bio_extract):
    calibration = calibrate_joint_thresholds(bio_extract, HELD_OUT, GRID)
    for threshold in GRID:
        expected = scores_at(bio_extract, relation_threshold=threshold)["relations"]["strict"]["micro"]["f1"]
        assert calibration.relation_f1[threshold] == pytest.approx(expected)
    assert calibration.relation_threshold == choose_threshold(calibration.relation_f1)
    assert bio_extract.model.config.relation_threshold == calibration.relation_threshold
    assert calibration.entity_threshold is None and calibration.reasons == ["a BIO-CRF head has no entity threshold"]
    assert (calibration.examples, calibration.entities, calibration.relations) == (12, 21, 12)


@pytest.mark.parametrize("overlapping", [True, False])
def test_span_model_sweep_equals_the_pipeline_at_each_threshold(bert_dir, overlapping):
    torch.manual_seed(0)
    model = joint_model(bert_dir, ner_head="span", max_span_length=3, overlapping_entities=overlapping).eval()
    with torch.no_grad():  # an untrained head with probabilities around 0.5: many candidates at every threshold
        model.ner_head.output.bias.zero_()
        model.ner_head.output.weight.mul_(20.0)
    extract = pipeline("joint-er", model=model, processor=JointErProcessor.from_model(model))
    calibration = calibrate_joint_thresholds(extract, HELD_OUT, GRID)
    assert len(set(calibration.entity_f1.values())) > 1  # the thresholds make a difference
    chosen = calibration.entity_threshold
    assert chosen == choose_threshold(calibration.entity_f1) == model.config.entity_threshold
    for threshold in GRID:
        entities = scores_at(extract, entity_threshold=threshold, relation_threshold=0.999)["entities"]
        assert calibration.entity_f1[threshold] == pytest.approx(entities["micro"]["f1"])
        relations = scores_at(extract, entity_threshold=chosen, relation_threshold=threshold)["relations"]
        assert calibration.relation_f1[threshold] == pytest.approx(relations["strict"]["micro"]["f1"])


def test_too_little_held_out_data_leaves_the_thresholds_alone(bio_extract):
    calibration = calibrate_joint_thresholds(bio_extract, RELATIONS[:2], GRID)
    assert calibration.relation_threshold is None and bio_extract.model.config.relation_threshold == 0.5
    assert "2 gold relations held out (fewer than 10)" in calibration.reasons
    with pytest.raises(ValueError, match="thresholds must be in"):
        calibrate_joint_thresholds(bio_extract, HELD_OUT, (0.0, 0.5))


def test_oracle_relations_read_the_gold_entities_whatever_the_entity_head_finds(joint_er_dir):
    extract = pipeline("joint-er", model=joint_er_dir)
    model, processor = extract.model, extract.processor
    oracle = oracle_relation_scores(model, processor, RELATIONS)
    relations = sum(len(example["relations"]) for example in RELATIONS)
    assert oracle["micro"]["gold"] == relations and oracle["windows"] == len(RELATIONS)
    assert oracle["micro"]["f1"] == 1.0  # the tiny model knows these relations
    assert scores_at(extract)["relations"]["strict"]["micro"]["f1"] == 1.0
    # an entity head that finds nothing costs the pipeline every relation, and the oracle none
    with torch.no_grad():
        for parameter in model.ner_head.parameters():
            parameter.zero_()
    assert scores_at(extract)["relations"]["strict"]["micro"]["f1"] == 0.0
    assert oracle_relation_scores(model, processor, RELATIONS)["micro"] == oracle["micro"]
    # the model's relation threshold decides, as in the pipeline
    model.config.relation_threshold = 0.0
    pairs = sum(len(e["entities"]) * (len(e["entities"]) - 1) for e in RELATIONS) * len(RELATION_TYPES)
    assert oracle_relation_scores(model, processor, RELATIONS)["micro"]["predicted"] == pairs


def test_oracle_counts_relations_of_types_the_model_lacks_as_misses(joint_er_dir):
    """Validation data may hold a type the (cut) training data lacked: the oracle scores it as the pipeline does, a
    miss no threshold could avoid, instead of stopping at the processor's unknown-type error."""
    extract = pipeline("joint-er", model=joint_er_dir)
    known = oracle_relation_scores(extract.model, extract.processor, RELATIONS)
    extra = {
        "text": "Ada Lovelace met Alan Turing in Manchester.",
        "entities": [
            {"start": 0, "end": 12, "label": "Peop"},
            {"start": 17, "end": 28, "label": "Peop"},
            {"start": 32, "end": 42, "label": "City"},  # an entity type the model lacks
        ],
        "relations": [
            {"head": 0, "tail": 1, "type": "Knows"},  # a relation type the model lacks
            {"head": 1, "tail": 2, "type": "Live_In"},  # a known type, to an entity of an unknown type
        ],
    }
    oracle = oracle_relation_scores(extract.model, extract.processor, [*RELATIONS, extra])
    assert oracle["unknown_types"] == {"Knows": 1, "Live_In": 1}
    assert oracle["micro"]["gold"] == known["micro"]["gold"] + 2
    assert oracle["micro"]["recall"] == pytest.approx(
        known["micro"]["recall"] * known["micro"]["gold"] / (known["micro"]["gold"] + 2)
    )
    # malformed input is still named by the processor, not taken for an unknown type
    with pytest.raises(ValueError, match="relation must be a dict"):
        oracle_relation_scores(extract.model, extract.processor, [{**extra, "relations": ["Knows"]}])
    with pytest.raises(ValueError, match="relation must be a dict"):
        oracle_relation_scores(extract.model, extract.processor, [{**extra, "relations": [{"head": 0, "tail": 1}]}])
    with pytest.raises(ValueError, match="entity must be a dict"):
        entities = [*extra["entities"][:2], {"start": 32, "end": 42}]
        oracle_relation_scores(extract.model, extract.processor, [{**extra, "entities": entities}])
