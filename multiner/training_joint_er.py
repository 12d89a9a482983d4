"""Training helpers for the joint entity and relation family, not needed at inference (a saved model folder does not
hold this module).

Calibrated thresholds: the span head's entity threshold and the relation threshold chosen on held-out training data
after training. Both heads are sigmoids trained on few positives (with `positive_weight` moving their scale), so 0.5
is rarely the best cut-off. One pass of the pipeline at the lowest grid threshold finds every candidate; a higher
threshold keeps a subset of them, the same subset a pass at that threshold would find (relations are scored pair by
pair, and the flat decoding is greedy from the most probable entity down), so the whole grid costs one pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from .data_collator_joint_er import JointErDataCollator
from .evaluation import micro_macro_scores, relation_scores
from .modeling_core import LABEL_PAD
from .modeling_joint_er import RelationScorer
from .training_core import MIN_CALIBRATION_ENTITIES, THRESHOLD_GRID, choose_threshold

logger = logging.getLogger(__name__)


@dataclass
class JointErCalibration:
    """What a calibration saw and chose: the thresholds (None where left alone, with the reason), the held-out micro
    F1 at every grid threshold (entities strict; relations strict), and how much held-out data it read."""

    entity_threshold: float | None = None
    relation_threshold: float | None = None
    entity_f1: dict[float, float] = field(default_factory=dict)
    relation_f1: dict[float, float] = field(default_factory=dict)
    examples: int = 0
    entities: int = 0
    relations: int = 0
    reasons: list[str] = field(default_factory=list)


def above(found: dict, entity_threshold: float = 0.0, relation_threshold: float = 0.0) -> dict:
    """One pipeline result `{"entities", "relations"}` with only the entities scoring above `entity_threshold` and
    the relations scoring above `relation_threshold` between them (indices renumbered).

    Example:
        >>> found = {"entities": [{"score": 0.9}, {"score": 0.3}, {"score": 0.8}],
        ...          "relations": [{"head": 0, "tail": 2, "score": 0.6}, {"head": 1, "tail": 2, "score": 0.9}]}
        >>> above(found, 0.5, 0.5)
        {'entities': [{'score': 0.9}, {'score': 0.8}], 'relations': [{'head': 0, 'tail': 1, 'score': 0.6}]}
    """
    number = {}
    for index, entity in enumerate(found["entities"]):
        if entity["score"] > entity_threshold:
            number[index] = len(number)
    return {
        "entities": [found["entities"][index] for index in number],
        "relations": [
            {**relation, "head": number[relation["head"]], "tail": number[relation["tail"]]}
            for relation in found["relations"]
            if relation["score"] > relation_threshold and relation["head"] in number and relation["tail"] in number
        ],
    }


def calibrate_joint_thresholds(
    extract, examples: Sequence[dict], thresholds: Sequence[float] = THRESHOLD_GRID, batch_size: int = 16
) -> JointErCalibration:
    """Choose the entity threshold (span head) and the relation threshold on held-out `examples` and write them to
    `extract.model.config` (`entity_threshold`, `relation_threshold`), which the pipeline uses when called without.

    The entity threshold is the one with the best strict entity F1 (smoothed over grid neighbours, as Multi-NER's
    calibration does), then the relation threshold the best strict relation F1 among those entities. A BIO-CRF model
    has no entity threshold. With fewer than `MIN_CALIBRATION_ENTITIES` gold entities (or as few gold relations) in
    the slice, that threshold is left alone and `reasons` says why.

    Args:
        extract: a `pipeline("joint-er", ...)` of the trained model.
        examples: raw-text examples `{"text", "entities", "relations"}` not trained on (a held-out slice).
        thresholds: the grid, each in (0, 1).
        batch_size: texts per forward pass.

    Example:
        >>> calibration = calibrate_joint_thresholds(extract, held_out)  # doctest: +SKIP
        >>> extract.model.config.relation_threshold == calibration.relation_threshold  # doctest: +SKIP
        True
    """
    config = extract.model.config
    grid = sorted(thresholds)
    if not grid or not grid[0] > 0.0 or not grid[-1] < 1.0:
        raise ValueError(f"calibration thresholds must be in (0, 1), got {list(thresholds)!r}.")
    entities = sum(len(example["entities"]) for example in examples)
    relations = sum(len(example.get("relations") or []) for example in examples)
    calibration = JointErCalibration(examples=len(examples), entities=entities, relations=relations)
    span_head = config.span_entities
    floor = {"entity_threshold": grid[0]} if span_head else {}
    was_training = extract.model.training
    extract.model.eval()
    try:
        texts = [example["text"] for example in examples]
        found = extract(texts, batch_size=batch_size, relation_threshold=grid[0], **floor)
    finally:
        extract.model.train(was_training)
    found = found if isinstance(found, list) else [found]

    def scores(entity_threshold: float, relation_threshold: float) -> dict:
        predicted = [above(result, entity_threshold, relation_threshold) for result in found]
        return relation_scores(examples, predicted, config.entity_types, config.relation_types)

    entity_threshold = config.entity_threshold if span_head else 0.0
    if not span_head:
        calibration.reasons.append("a BIO-CRF head has no entity threshold")
    elif entities < MIN_CALIBRATION_ENTITIES:
        calibration.reasons.append(f"{entities} gold entities held out (fewer than {MIN_CALIBRATION_ENTITIES})")
    else:
        calibration.entity_f1 = {t: scores(t, 1.0)["entities"]["micro"]["f1"] for t in grid}
        entity_threshold = calibration.entity_threshold = choose_threshold(calibration.entity_f1)
        config.entity_threshold = entity_threshold
    if relations < MIN_CALIBRATION_ENTITIES:
        calibration.reasons.append(f"{relations} gold relations held out (fewer than {MIN_CALIBRATION_ENTITIES})")
    else:
        calibration.relation_f1 = {t: scores(entity_threshold, t)["relations"]["strict"]["micro"]["f1"] for t in grid}
        calibration.relation_threshold = choose_threshold(calibration.relation_f1)
        config.relation_threshold = calibration.relation_threshold
    for reason in calibration.reasons:
        logger.warning("Joint ER calibration: %s; that threshold is left as it was.", reason)
    logger.info(
        "Joint ER thresholds after calibration on %d held-out examples: entity %s, relation %s",
        len(examples),
        calibration.entity_threshold,
        calibration.relation_threshold,
    )
    return calibration


def oracle_relation_scores(model, processor, examples: Sequence[dict], batch_size: int = 16) -> dict:
    """Strict relation scores with the gold entities given: the relation scorer reads each window's gold entities
    (as in training) and its relations above `model.config.relation_threshold` are compared with the gold ones.
    Entity errors cannot cost a relation here, so the gap to the pipeline's strict relation score is what entity
    errors cost. Gold items the processor cannot represent (see `count_unrepresentable`) are out of both sides.
    `examples` are texts (`{"text", "entities", "relations"}`) or word lists (`"tokens"`, offsets in words). A gold
    relation of a type the model does not have, or between entities of such types (validation data with a type the
    training data lacked), is a miss the model cannot avoid, as in the pipeline's scores: counted in `unknown_types`.

    Returns `micro_macro_scores` over the relation types, plus `windows` and the `unrepresentable` and
    `unknown_types` counts.

    Example:
        >>> oracle_relation_scores(model, processor, dev)["micro"]["f1"]  # doctest: +SKIP
        0.71
    """
    examples, misses = known_types_only(examples, model.config.entity_types, model.config.relation_types)
    columns = {name: [example.get(name) or [] for example in examples] for name in ("entities", "relations")}
    source = "tokens" if examples and "tokens" in examples[0] else "text"  # texts, or word lists (offsets in words)
    rows = processor.preprocess({source: [example[source] for example in examples], **columns})
    unrepresentable = processor.count_unrepresentable(rows)
    features = [{name: rows[name][i] for name in rows} for i in range(len(rows["input_ids"]))]
    collator = JointErDataCollator.from_processor(processor)
    types = model.config.relation_types
    gold, predicted = [], []
    was_training = model.training
    model.eval()
    try:
        for begin in range(0, len(features), batch_size):
            chunk = features[begin : begin + batch_size]
            batch = {name: value.to(model.device) for name, value in collator(chunk).items()}
            with torch.no_grad():
                outputs = model(**batch)
            chosen = outputs.relation_logits.sigmoid() > model.config.relation_threshold
            chosen &= RelationScorer.pair_mask(outputs.entity_spans)[..., None]
            for row, feature in enumerate(chunk):
                triples = feature["relation_labels"]
                gold.append([(types[kind], head, tail) for head, tail, kind in triples if kind != LABEL_PAD])
                predicted.append([(types[kind], head, tail) for head, tail, kind in chosen[row].nonzero().tolist()])
    finally:
        model.train(was_training)
    gold.append(misses)  # one more row: what no threshold could find
    predicted.append([])
    scores = micro_macro_scores(gold, predicted, types)
    unknown_types = Counter(kind for kind, *_ in misses)
    return {
        **scores,
        "windows": len(features),
        "unrepresentable": dict(unrepresentable),
        "unknown_types": dict(unknown_types),
    }


def known_types_only(
    examples: Sequence[dict], entity_types: Sequence[str], relation_types: Sequence[str]
) -> tuple[list[dict], list[tuple]]:
    """`examples` without the gold entities and relations of types the model does not have, and those relations as
    unique miss keys `(type, example index, relation index)`. A relation is a miss too when one of its entities is
    taken out; the others' entity indices are renumbered. Malformed items are left for the processor to name.

    Example:
        >>> examples = [{"text": "Ann met Bob in Rome", "entities": [{"start": 0, "end": 3, "label": "Peop"},
        ...     {"start": 15, "end": 19, "label": "City"}, {"start": 8, "end": 11, "label": "Peop"}],
        ...     "relations": [{"head": 0, "tail": 1, "type": "Live_In"}, {"head": 0, "tail": 2, "type": "Knows"}]}]
        >>> kept, misses = known_types_only(examples, ["Peop", "Loc"], ["Live_In", "Knows"])
        >>> kept[0]["relations"], misses
        ([{'head': 0, 'tail': 1, 'type': 'Knows'}], [('Live_In', 0, 0)])
    """
    kept, misses = [], []
    for number, example in enumerate(examples):
        entities = example.get("entities") or []
        known = [
            not _well_formed(entity, ("start", "end", "label")) or entity["label"] in entity_types
            for entity in entities
        ]
        renumbered = {old: new for new, old in enumerate(i for i, keep in enumerate(known) if keep)}
        relations = []
        for position, relation in enumerate(example.get("relations") or []):
            if not _well_formed(relation, ("head", "tail", "type")):
                relations.append(relation)
                continue
            indices = {
                name: relation[name]
                for name in ("head", "tail")
                if type(relation[name]) is int and 0 <= relation[name] < len(known)
            }
            if relation["type"] not in relation_types or any(end not in renumbered for end in indices.values()):
                misses.append((relation["type"], number, position))
            else:
                relations.append({**relation, **{name: renumbered[end] for name, end in indices.items()}})
        entities = [entity for entity, keep in zip(entities, known) if keep]
        kept.append({**example, "entities": entities, "relations": relations})
    return kept, misses


def _well_formed(item, keys: tuple[str, ...]) -> bool:
    """A dict holding `keys` with a hashable type name (what the processor checks further)."""
    return isinstance(item, Mapping) and set(keys) <= set(item) and isinstance(item[keys[-1]], str)


__all__ = ["JointErCalibration", "above", "calibrate_joint_thresholds", "known_types_only", "oracle_relation_scores"]
