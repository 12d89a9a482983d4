import numpy as np
import pytest
from transformers import EvalPrediction

from multiner.evaluation import (
    flatten_scores,
    fragment_scores,
    seqeval_scores,
    span_scores,
    spans_to_iob2,
)
from multiner.training_multiner import MultiNerMetrics


def test_span_scores_micro_and_per_type():
    gold = [[("PER", 0, 2), ("LOC", 5, 6)], [("ORG", 1, 3), ("LOC", 4, 5)]]
    predicted = [[("PER", 0, 2), ("LOC", 4, 6)], [("ORG", 1, 3), ("PER", 4, 5)]]
    scores = span_scores(gold, predicted, ["PER", "LOC", "ORG"])
    assert scores["precision"] == pytest.approx(2 / 4)
    assert scores["recall"] == pytest.approx(2 / 4)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["per_type"]["PER"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert flatten_scores(scores)["ORG_f1"] == 1.0


def test_nested_spans_count_separately():
    gold = [[("ORG", 0, 3), ("LOC", 2, 3)]]
    assert span_scores(gold, [[("ORG", 0, 3)]])["recall"] == 0.5


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="gold has 1 examples but predicted has 2"):
        span_scores([[]], [[], []])


def test_trainer_metrics_decode_logits_against_label_triples():
    types = ["PER", "LOC"]
    start = np.full((2, 4, 2), -9.0)
    end, span = start.copy(), np.full((2, 4, 3, 2), -9.0)
    # row 0: PER tokens 0..1 predicted and gold; row 1: LOC token 2 predicted, gold is LOC 2..3
    start[0, 0, 0] = end[0, 1, 0] = span[0, 0, 1, 0] = 9.0
    start[1, 2, 1] = end[1, 2, 1] = span[1, 2, 0, 1] = 9.0
    labels = np.array([[[0, 0, 1], [-100, -100, -100]], [[1, 2, 3], [-100, -100, -100]]])
    metrics = MultiNerMetrics(types)(EvalPrediction(predictions=(start, end, span), label_ids=labels))
    assert metrics["precision"] == 0.5 and metrics["recall"] == 0.5
    assert metrics["PER_f1"] == 1.0 and metrics["LOC_f1"] == 0.0


def test_flat_metrics_drop_the_weaker_overlapping_prediction():
    start = np.full((1, 3, 2), -9.0)
    end, span = start.copy(), np.full((1, 3, 3, 2), -9.0)
    start[0, 0, 0] = end[0, 2, 0] = span[0, 0, 2, 0] = 9.0  # PER 0..2, confident
    start[0, 1, 1] = end[0, 2, 1] = span[0, 1, 1, 1] = 1.0  # LOC 1..2, weaker, overlapping
    labels = np.array([[[0, 0, 2]]])
    prediction = EvalPrediction(predictions=(start, end, span), label_ids=labels)
    assert MultiNerMetrics(["PER", "LOC"])(prediction)["precision"] == 0.5
    assert MultiNerMetrics(["PER", "LOC"], flat=True)(prediction)["precision"] == 1.0


def test_seqeval_agrees_with_strict_spans_on_flat_data():
    lengths = [5, 4]
    gold = [[("PER", 0, 2), ("LOC", 3, 4)], [("ORG", 0, 1)]]
    predicted = [[("PER", 0, 2), ("LOC", 3, 5)], [("ORG", 0, 1)]]
    assert seqeval_scores(lengths, gold, predicted)["f1"] == pytest.approx(span_scores(gold, predicted)["f1"])
    assert spans_to_iob2(3, [("PER", 1, 3)]) == ["O", "B-PER", "I-PER"]
    with pytest.raises(ValueError, match="flat spans"):
        spans_to_iob2(3, [("PER", 0, 2), ("LOC", 1, 3)])


def test_relation_scores_micro_macro_strict_and_boundaries_by_hand():
    from multiner.evaluation import format_relation_scores, relation_scores

    def entity(start, end, label):
        return {"start": start, "end": end, "label": label}

    gold = [
        {
            "entities": [entity(0, 1, "Peop"), entity(3, 4, "Loc"), entity(6, 7, "Org")],
            "relations": [{"head": 0, "tail": 1, "type": "Live_In"}, {"head": 0, "tail": 2, "type": "Work_For"}],
        },
        {
            "entities": [entity(0, 2, "Peop"), entity(5, 6, "Loc")],
            "relations": [{"head": 0, "tail": 1, "type": "Live_In"}],
        },
    ]
    predicted = [
        {  # Loc right, Org typed Loc: Live_In strict right, Work_For right only on boundaries
            "entities": [{"start": 0, "end": 1, "entity_group": "Peop"}, entity(3, 4, "Loc"), entity(6, 7, "Loc")],
            "relations": [{"head": 0, "tail": 1, "type": "Live_In"}, {"head": 0, "tail": 2, "type": "Work_For"}],
        },
        {"entities": [entity(0, 2, "Peop")], "relations": []},
    ]
    scores = relation_scores(gold, predicted)
    expected = {"precision": 0.75, "recall": 0.6, "f1": pytest.approx(2 / 3), "gold": 5, "predicted": 4}
    assert scores["entities"]["micro"] == expected
    # per type: Peop 2 of 2, Loc 1 of 2 gold and 1 of 2 predicted, Org 0; macro is the plain mean over types
    per_type = scores["entities"]["per_type"]
    assert per_type["Loc"]["precision"] == 0.5 and per_type["Loc"]["recall"] == 0.5 and per_type["Org"]["f1"] == 0
    assert scores["entities"]["macro"]["f1"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    strict, boundaries = scores["relations"]["strict"], scores["relations"]["boundaries"]
    expected = {"precision": 0.5, "recall": pytest.approx(1 / 3), "f1": pytest.approx(0.4), "gold": 3, "predicted": 2}
    assert strict["micro"] == expected
    assert strict["per_type"]["Work_For"]["f1"] == 0.0 and strict["per_type"]["Live_In"]["recall"] == 0.5
    assert boundaries["micro"]["precision"] == 1.0 and boundaries["micro"]["recall"] == pytest.approx(2 / 3)
    table = format_relation_scores(scores)
    assert "relations strict (both arguments' spans and types, and the relation type)" in table
    with pytest.raises(ValueError, match="must point at two of its 1 entities"):
        relation_scores(
            [{"entities": [entity(0, 1, "A")], "relations": [{"head": 0, "tail": 1, "type": "R"}]}],
            [{"entities": [], "relations": []}],
        )


def test_fragment_scores_need_every_fragment_and_report_discontinuous_entities_apart():
    aching = {"label": "ADR", "fragments": [{"start": 6, "end": 15}, {"start": 29, "end": 38}]}
    gold = [{"entities": [aching, {"label": "ADR", "start": 6, "end": 24}]}, {"entities": []}]
    predicted = [
        [
            {"entity_group": "ADR", "start": 6, "end": 38, "fragments": [{"start": 6, "end": 15}]},  # a fragment short
            {"entity_group": "ADR", "start": 6, "end": 24, "fragments": [{"start": 6, "end": 24}]},
        ],
        [{"entity_group": "ADR", "start": 0, "end": 9, "fragments": [{"start": 0, "end": 4}, {"start": 6, "end": 9}]}],
    ]
    scores = fragment_scores(gold, predicted)
    micro = {name: scores["all"][name] for name in ("precision", "recall", "f1", "gold", "predicted")}
    assert micro == {"precision": 1 / 3, "recall": 0.5, "f1": pytest.approx(0.4), "gold": 2, "predicted": 3}
    micro = {name: scores["discontinuous"][name] for name in ("precision", "recall", "f1", "gold", "predicted")}
    assert micro == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "gold": 1, "predicted": 1}
    assert scores["all"]["per_type"]["ADR"]["support"] == 2 and scores["all"]["macro"]["f1"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="gold has 2 examples but predicted has 1"):
        fragment_scores(gold, predicted[:1])
