"""The package's `evaluate` metric (`multiner/ner_metric.py`), loaded offline by path, against the package's scorers
on random inputs: the same counts, through `evaluate`'s feature schemas."""

import random

import pytest

from multiner.evaluation import fragment_scores, relation_scores, span_scores
from multiner.ner_metric import as_metric_entities, headline, load_ner_metric

TYPES = ["PER", "LOC", "ORG"]


def random_entities(rng: random.Random, fragments: bool = False) -> list[dict]:
    entities = []
    for _ in range(rng.randint(0, 5)):
        start = rng.randint(0, 8)
        entity = {"label": rng.choice(TYPES), "start": start, "end": start + rng.randint(1, 3)}
        if fragments and rng.random() < 0.4:
            entity["fragments"] = [{"start": start, "end": start + 1}, {"start": start + 3, "end": start + 4}]
            entity["end"] = start + 4
        entities.append(entity)
    return entities


def noisy_copy(rng: random.Random, entities: list[dict]) -> list[dict]:
    """Predictions: the gold ones, some dropped, some relabelled, plus a few random ones."""
    kept = [dict(e) for e in entities if rng.random() < 0.7]
    for entity in kept:
        if rng.random() < 0.2:
            entity["label"] = rng.choice(TYPES)
    return kept + random_entities(rng)[:2]


@pytest.mark.parametrize("seed", range(5))
def test_spans_agree_with_span_scores(seed):
    rng = random.Random(seed)
    gold = [random_entities(rng) for _ in range(20)]
    found = [noisy_copy(rng, entities) for entities in gold]
    scores = load_ner_metric("spans").compute(
        predictions=[as_metric_entities(e) for e in found], references=[as_metric_entities(e) for e in gold]
    )
    keys = [[[(e["label"], e["start"], e["end"]) for e in x] for x in side] for side in (gold, found)]
    assert scores == span_scores(*keys)
    assert scores["gold"] == sum(len({(e["label"], e["start"], e["end"]) for e in x}) for x in gold)
    macro_f1 = sum(values["f1"] for values in scores["per_type"].values()) / len(scores["per_type"])
    assert scores["macro"]["f1"] == pytest.approx(macro_f1)


def test_spans_by_hand():
    gold = [[{"label": "PER", "start": 0, "end": 2}, {"label": "LOC", "start": 5, "end": 6}], []]
    found = [[{"label": "PER", "start": 0, "end": 2}, {"label": "LOC", "start": 4, "end": 6}], [gold[0][0]]]
    scores = load_ner_metric("spans").compute(predictions=found, references=gold, entity_types=["PER", "LOC"])
    assert (scores["precision"], scores["recall"], scores["gold"], scores["predicted"]) == (1 / 3, 0.5, 2, 3)
    assert scores["per_type"]["LOC"]["f1"] == 0.0 and scores["per_type"]["PER"]["f1"] == pytest.approx(2 / 3)
    assert scores["macro"]["f1"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_fragments_agree_with_fragment_scores(seed):
    rng = random.Random(seed)
    gold = [random_entities(rng, fragments=True) for _ in range(20)]
    found = [noisy_copy(rng, entities) for entities in gold]
    # the pipeline's output schema (entity_group) converts as the training format does
    found = [[{**{k: v for k, v in e.items() if k != "label"}, "entity_group": e["label"]} for e in x] for x in found]
    scores = load_ner_metric("fragments").compute(
        predictions=[as_metric_entities(e, fragments=True) for e in found],
        references=[as_metric_entities(e, fragments=True) for e in gold],
    )
    expected = fragment_scores(gold, found)
    assert expected["discontinuous"]["gold"] > 0
    assert scores == expected


@pytest.mark.parametrize("seed", range(3))
def test_relations_agree_with_relation_scores(seed):
    rng = random.Random(seed)

    def example(entities):
        pairs = [(h, t) for h in range(len(entities)) for t in range(len(entities)) if h != t]
        chosen = rng.sample(pairs, min(len(pairs), 2))
        return {"entities": entities, "relations": [{"head": h, "tail": t, "type": "R"} for h, t in chosen]}

    gold = [example(as_metric_entities(random_entities(rng))) for _ in range(15)]
    found = [example(as_metric_entities(noisy_copy(rng, x["entities"]))) for x in gold]
    scores = load_ner_metric("relations").compute(predictions=found, references=gold)
    assert scores == relation_scores(gold, found)


def test_an_unknown_configuration_names_the_known_ones():
    with pytest.raises(ValueError, match=r"configurations are \['fragments', 'relations', 'spans'\], got 'span'"):
        load_ner_metric("span")


def test_headline_in_percent_by_hand():
    contiguous = {"label": "ADR", "fragments": [{"start": 0, "end": 8}]}
    split = {"label": "ADR", "fragments": [{"start": 0, "end": 4}, {"start": 12, "end": 16}]}
    other = {"label": "ADR", "fragments": [{"start": 20, "end": 24}]}
    # all: 2 right of 3 written, 2 of 2 gold; discontinuous: 1 of 1
    fragments = load_ner_metric("fragments").compute(
        predictions=[[contiguous, split, other]], references=[[contiguous, split]]
    )
    assert headline(fragments) == {"f1": 80.0, "precision": 66.67, "recall": 100.0, "discontinuous_f1": 100.0}

    gold = {"entities": [{"label": "PER", "start": 0, "end": 3}, {"label": "LOC", "start": 7, "end": 9}]}
    gold["relations"] = [{"head": 0, "tail": 1, "type": "Live_In"}]
    found = {"entities": gold["entities"][:1], "relations": []}  # one entity of two, no relation
    relations = load_ner_metric("relations").compute(predictions=[found], references=[gold])
    assert headline(relations) == {"entity_f1": 66.67, "relation_f1": 0.0}

    with pytest.raises(ValueError, match=r"reads 'fragments' or 'relations' scores; these have the keys \["):
        headline(load_ner_metric("spans").compute(predictions=[[]], references=[[]]))
