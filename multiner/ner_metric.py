"""The package's `evaluate` metric: strict precision, recall and F1 of entity sets (flat or nested), of entities made
of fragments (discontinuous), and of entities with relations; micro, macro and per type.

It is a module of the installed package, so it loads offline by path, with one configuration per kind of output:

    >>> import evaluate, multiner.ner_metric  # doctest: +SKIP
    >>> metric = evaluate.load(multiner.ner_metric.__file__, "spans")  # doctest: +SKIP
    >>> metric.compute(predictions=[[{"label": "PER", "start": 0, "end": 3}]],
    ...                references=[[{"label": "PER", "start": 0, "end": 3}]])["micro"]["f1"]  # doctest: +SKIP
    1.0

`load_ner_metric(name)` does the same. Entities are the training format and the pipelines' output alike: `label` or
`entity_group`, `start`, `end`, and for "fragments" a list of `fragments` (`{"start", "end"}`); "relations" examples
are `{"entities": [...], "relations": [{"head", "tail", "type"}]}` with argument indices into the example's entities.
The counting is `multiner.evaluation`'s, so the scripts, benchmarks and this metric give the same numbers.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate

from multiner.evaluation import fragment_scores, relation_scores, span_scores

SPAN = {"label": datasets.Value("string"), "start": datasets.Value("int64"), "end": datasets.Value("int64")}
FRAGMENTED = {
    "label": datasets.Value("string"),
    "fragments": [{"start": datasets.Value("int64"), "end": datasets.Value("int64")}],
}
RELATIONAL = {
    "entities": [SPAN],
    "relations": [
        {"head": datasets.Value("int64"), "tail": datasets.Value("int64"), "type": datasets.Value("string")}
    ],
}
SCHEMAS = {"spans": [SPAN], "fragments": [FRAGMENTED], "relations": RELATIONAL}


class NerMetric(evaluate.Metric):
    """Strict entity (and relation) P/R/F1 for the three families' outputs; the configuration ("spans",
    "fragments" or "relations") picks the input schema."""

    def _info(self) -> evaluate.MetricInfo:
        if self.config_name not in SCHEMAS:
            raise ValueError(f"The NER metric's configurations are {sorted(SCHEMAS)}, got {self.config_name!r}.")
        schema = SCHEMAS[self.config_name]
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions and references: per example, " + self.config_name,
            features=datasets.Features({"predictions": schema, "references": schema}),
        )

    def _compute(
        self,
        predictions: list,
        references: list,
        entity_types: list[str] | None = None,
        relation_types: list[str] | None = None,
    ) -> dict[str, Any]:
        if self.config_name == "relations":
            return relation_scores(references, predictions, entity_types, relation_types)
        if self.config_name == "spans":
            return span_scores(_span_keys(references), _span_keys(predictions), entity_types)
        return fragment_scores(references, predictions, entity_types)


def _span_keys(examples: list) -> list[list[tuple[str, int, int]]]:
    return [[(entity["label"], entity["start"], entity["end"]) for entity in example] for example in examples]


def as_metric_entities(entities: list[dict], fragments: bool = False) -> list[dict]:
    """Entities in the metric's schema from the training format or a pipeline's output (`entity_group`, `score`,
    `word`): `label`, `start`, `end`, or with `fragments=True` `label` and `fragments` (one for a contiguous
    entity)."""
    converted = []
    for entity in entities:
        label = entity.get("label", entity.get("entity_group"))
        if fragments:
            parts = entity.get("fragments") or [entity]
            converted.append({"label": label, "fragments": [{"start": f["start"], "end": f["end"]} for f in parts]})
        else:
            converted.append({"label": label, "start": entity["start"], "end": entity["end"]})
    return converted


def as_metric_example(example: dict) -> dict:
    """A "relations" example in the metric's schema from the training format or the joint pipeline's output."""
    relations = [{"head": r["head"], "tail": r["tail"], "type": r["type"]} for r in example.get("relations", [])]
    return {"entities": as_metric_entities(example["entities"]), "relations": relations}


def headline(scores: dict) -> dict[str, float]:
    """What a results table or a dev curve reads of a "fragments" or "relations" result, in percent (two decimals):
    micro F1, P, R of all entities and F1 of the discontinuous ones; or micro F1 of entities and of strict
    relations."""
    if "discontinuous" in scores:
        every = scores["all"]
        return {
            **{name: _percent(every[name]) for name in ("f1", "precision", "recall")},
            "discontinuous_f1": _percent(scores["discontinuous"]["f1"]),
        }
    if "relations" in scores:
        return {
            "entity_f1": _percent(scores["entities"]["micro"]["f1"]),
            "relation_f1": _percent(scores["relations"]["strict"]["micro"]["f1"]),
        }
    raise ValueError(f"headline() reads 'fragments' or 'relations' scores; these have the keys {sorted(scores)}.")


def _percent(value: float) -> float:
    return round(100 * value, 2)


def load_ner_metric(name: str = "spans", **kwargs) -> evaluate.Metric:
    """`evaluate.load` of this module by its path (offline): "spans", "fragments" or "relations"."""
    return evaluate.load(__file__, name, **kwargs)


__all__ = ["NerMetric", "as_metric_entities", "as_metric_example", "headline", "load_ner_metric"]
