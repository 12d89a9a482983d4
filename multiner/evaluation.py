"""Strict span precision / recall / F1 (micro, macro and per type), seqeval for flat data, relation and fragment
scores: the scorers every family's scripts, tests and benchmarks share (`micro_macro_scores` counts for all)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

Span = tuple[str, int, int]  # (label, start, end)


def span_scores(
    gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]], entity_types: Sequence[str] | None = None
) -> dict:
    """Strict span matching: an entity counts as correct only with the same label, start and end.

    Args:
        gold, predicted: per example, the (label, start, end) entities.
        entity_types: types reported per type (default: every label seen).

    Returns:
        `{"precision", "recall", "f1", "gold", "predicted", "macro": {...}, "per_type": {label: {"precision",
        "recall", "f1", "support"}}}`: micro scores with the entity counts, the macro average over types, per type.

    Example:
        >>> span_scores([[("PER", 0, 2), ("LOC", 5, 6)]], [[("PER", 0, 2), ("LOC", 4, 6)]])["f1"]
        0.5
    """
    scores = micro_macro_scores(gold, predicted, entity_types)
    return {**scores["micro"], "macro": scores["macro"], "per_type": scores["per_type"]}


def example_counts(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]) -> list[tuple[int, int, int]]:
    """Per example, the strict (true positives, false positives, false negatives), for paired resampling.

    Example:
        >>> example_counts([[("PER", 0, 2)], []], [[("PER", 0, 2), ("LOC", 4, 6)], [("PER", 1, 2)]])
        [(1, 1, 0), (0, 1, 0)]
    """
    counts = []
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        gold_set, predicted_set = set(gold_spans), set(predicted_spans)
        hits = len(gold_set & predicted_set)
        counts.append((hits, len(predicted_set) - hits, len(gold_set) - hits))
    return counts


def flatten_scores(scores: dict) -> dict[str, float]:
    """`span_scores` output as one flat dict of floats (`precision`, ..., `PER_f1`, ...), as Trainer logs want."""
    flat = {name: scores[name] for name in ("precision", "recall", "f1")}
    for label, label_scores in scores["per_type"].items():
        flat.update({f"{label}_{name}": float(label_scores[name]) for name in ("precision", "recall", "f1")})
    return flat


def spans_to_iob2(length: int, spans: Iterable[Span]) -> list[str]:
    """IOB2 tags of `length` words for flat (label, start, end) word spans.

    Example:
        >>> spans_to_iob2(4, [("PER", 1, 3)])
        ['O', 'B-PER', 'I-PER', 'O']
    """
    tags = ["O"] * length
    for label, start, end in sorted(spans, key=lambda span: (span[1], span[2])):
        if any(tag != "O" for tag in tags[start:end]):
            raise ValueError(f"spans_to_iob2 needs flat spans; {(label, start, end)} overlaps another span.")
        tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
    return tags


def seqeval_scores(
    lengths: Sequence[int], gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]
) -> dict:
    """seqeval's micro P/R/F1 (CoNLL-style, IOB2, strict=False as in conlleval) on flat word spans."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold_tags = [spans_to_iob2(length, spans) for length, spans in zip(lengths, gold)]
    predicted_tags = [spans_to_iob2(length, spans) for length, spans in zip(lengths, predicted)]
    return {
        "precision": float(precision_score(gold_tags, predicted_tags)),
        "recall": float(recall_score(gold_tags, predicted_tags)),
        "f1": float(f1_score(gold_tags, predicted_tags)),
    }


def _prf(true_positives: int, predicted: int, gold: int) -> dict[str, float]:
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# ------------------------------------------------------------------------------------------ entities and relations

ENTITY_MATCH = "strict: span and type"
RELATION_MATCHES = {
    "strict": "both arguments' spans and types, and the relation type",
    "boundaries": "both arguments' spans and the relation type (argument types ignored)",
}


def relation_scores(
    gold: Sequence[dict],
    predicted: Sequence[dict],
    entity_types: Sequence[str] | None = None,
    relation_types: Sequence[str] | None = None,
) -> dict:
    """Entity and relation precision / recall / F1, micro and macro, for joint extraction.

    An entity is correct when its span and type match (strict). A relation is correct, `strict`, when both
    arguments' spans and types and the relation type match; `boundaries` ignores the arguments' types. Micro pools
    every decision; macro is the mean over types of the per-type precision, recall and F1 (each type counts once,
    however rare). Papers report either one: say which.

    Args:
        gold, predicted: per example `{"entities": [...], "relations": [...]}`: entities with `start`, `end` and
            `label` (or the pipeline's `entity_group`), relations with `head` and `tail` (indices into the
            example's entities) and `type` — the training format and the pipeline's output both fit.
        entity_types, relation_types: the types averaged by macro scores and reported per type (default: every type
            seen in gold or predictions).

    Returns:
        `{"entities": {...}, "relations": {"strict": {...}, "boundaries": {...}}}`, each with `micro` and `macro`
        `{"precision", "recall", "f1"}` and `per_type` (with `support`).

    Example:
        >>> gold = [{"entities": [{"start": 0, "end": 2, "label": "Peop"}, {"start": 5, "end": 6, "label": "Loc"}],
        ...          "relations": [{"head": 0, "tail": 1, "type": "Live_In"}]}]
        >>> found = [{"entities": [{"start": 0, "end": 2, "entity_group": "Peop"},
        ...                        {"start": 5, "end": 6, "entity_group": "Org"}],
        ...           "relations": [{"head": 0, "tail": 1, "type": "Live_In"}]}]
        >>> scores = relation_scores(gold, found)
        >>> scores["entities"]["micro"]["f1"], scores["relations"]["strict"]["micro"]["f1"]
        (0.5, 0.0)
        >>> scores["relations"]["boundaries"]["micro"]["f1"]
        1.0
    """
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} examples but predicted has {len(predicted)}.")
    entity_items = ([], [])
    relation_items = {name: ([], []) for name in RELATION_MATCHES}
    for side, examples in enumerate((gold, predicted)):
        for number, example in enumerate(examples):
            entities = [_entity_key(entity, number) for entity in example.get("entities", [])]
            entity_items[side].append(entities)
            for name in RELATION_MATCHES:
                relation_items[name][side].append(
                    [_relation_key(relation, entities, number, name) for relation in example.get("relations", [])]
                )
    return {
        "entities": micro_macro_scores(*entity_items, entity_types),
        "relations": {name: micro_macro_scores(*items, relation_types) for name, items in relation_items.items()},
    }


def format_relation_scores(scores: dict) -> str:
    """`relation_scores` as a small table that names each kind of match and average.

    Example:
        >>> print(format_relation_scores(relation_scores([{"entities": []}], [{"entities": []}])).splitlines()[0])
        | task (match) | micro P | micro R | micro F1 | macro P | macro R | macro F1 |
    """
    lines = [
        "| task (match) | micro P | micro R | micro F1 | macro P | macro R | macro F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [(f"entities ({ENTITY_MATCH})", scores["entities"])]
    rows += [(f"relations {name} ({text})", scores["relations"][name]) for name, text in RELATION_MATCHES.items()]
    for title, part in rows:
        values = [
            100 * part[average][name] for average in ("micro", "macro") for name in ("precision", "recall", "f1")
        ]
        lines.append(f"| {title} | " + " | ".join(f"{value:.2f}" for value in values) + " |")
    return "\n".join(lines)


def fragment_scores(
    gold: Sequence[dict], predicted: Sequence[dict], entity_types: Sequence[str] | None = None
) -> dict:
    """Precision / recall / F1 (micro) of entities that may be discontinuous: an entity is correct when its type and
    every fragment match. Reported for all entities and for the discontinuous ones alone (gold and predicted
    entities of two or more fragments), as the discontinuous NER papers do.

    Args:
        gold, predicted: per example `{"entities": [...]}` (or the list of entities itself); an entity has `label`
            (or `entity_group`) and `fragments` of `{"start", "end"}`, or only `start` and `end` (one fragment).

    Returns:
        `{"all": {...}, "discontinuous": {...}}`, each `{"precision", "recall", "f1", "gold", "predicted"}` (micro,
        with the entity counts) plus `macro` and `per_type` over `entity_types` (default: every type seen).

    Example:
        >>> gold = [[{"label": "ADR", "fragments": [{"start": 0, "end": 4}, {"start": 12, "end": 16}]},
        ...          {"label": "ADR", "start": 0, "end": 8}]]
        >>> found = [[{"entity_group": "ADR", "start": 0, "end": 16, "fragments": [{"start": 0, "end": 4},
        ...            {"start": 12, "end": 16}]}]]
        >>> scores = fragment_scores(gold, found)
        >>> scores["all"]["recall"], scores["discontinuous"]["f1"]
        (0.5, 1.0)
    """
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} examples but predicted has {len(predicted)}.")
    gold_keys = [[_fragment_key(e, number) for e in _entities_of(example)] for number, example in enumerate(gold)]
    found_keys = [[_fragment_key(e, n) for e in _entities_of(example)] for n, example in enumerate(predicted)]
    parts = {"all": (gold_keys, found_keys)}
    parts["discontinuous"] = tuple([[k for k in keys if len(k[1]) > 1] for keys in side] for side in parts["all"])
    scores = {name: micro_macro_scores(*sides, entity_types) for name, sides in parts.items()}
    return {
        name: {**part["micro"], "macro": part["macro"], "per_type": part["per_type"]} for name, part in scores.items()
    }


def _entities_of(example) -> list:
    return example.get("entities", []) if isinstance(example, dict) else list(example)


def _fragment_key(entity: dict, number: int) -> tuple[str, tuple]:
    label = entity.get("label", entity.get("entity_group"))
    fragments = entity.get("fragments") or [entity]
    if label is None or not all("start" in fragment and "end" in fragment for fragment in fragments):
        raise ValueError(
            f"Example {number}: an entity needs 'label' (or 'entity_group') and 'start'/'end' or 'fragments': "
            f"{entity}."
        )
    return (label, tuple((fragment["start"], fragment["end"]) for fragment in fragments))


def _entity_key(entity: dict, number: int) -> tuple[str, int, int]:
    label = entity.get("label", entity.get("entity_group"))
    if label is None or "start" not in entity or "end" not in entity:
        raise ValueError(
            f"Example {number}: an entity needs 'start', 'end' and 'label' (or 'entity_group'): {entity}."
        )
    return (label, entity["start"], entity["end"])


def _relation_key(relation: dict, entities: list, number: int, match: str) -> tuple:
    head, tail = relation.get("head"), relation.get("tail")
    if not all(isinstance(index, int) and 0 <= index < len(entities) for index in (head, tail)):
        raise ValueError(
            f"Example {number}: relation {relation} must point at two of its {len(entities)} entities by index."
        )
    if match == "strict":
        return (relation["type"], entities[head], entities[tail])
    return (relation["type"], entities[head][1:], entities[tail][1:])


def micro_macro_scores(gold: list, predicted: list, types: Sequence[str] | None = None) -> dict:
    """Strict P/R/F1 of hashable items whose first element is their type (entity or relation keys), per example:
    micro (every decision pooled, with the `gold` and `predicted` counts), macro (the mean over `types` of the
    per-type scores; default every type seen) and per type with its gold `support`."""
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} examples but predicted has {len(predicted)}.")
    true_positives, gold_counts, predicted_counts = Counter(), Counter(), Counter()
    for gold_items, predicted_items in zip(gold, predicted):
        gold_set, predicted_set = set(gold_items), set(predicted_items)
        true_positives.update(item[0] for item in gold_set & predicted_set)
        gold_counts.update(item[0] for item in gold_set)
        predicted_counts.update(item[0] for item in predicted_set)
    labels = list(types) if types is not None else sorted(gold_counts | predicted_counts)
    per_type = {
        label: {
            **_prf(true_positives[label], predicted_counts[label], gold_counts[label]),
            "support": gold_counts[label],
        }
        for label in labels
    }
    micro = _prf(sum(true_positives.values()), sum(predicted_counts.values()), sum(gold_counts.values()))
    micro.update(gold=sum(gold_counts.values()), predicted=sum(predicted_counts.values()))
    names = ("precision", "recall", "f1")
    macro = {
        name: sum(scores[name] for scores in per_type.values()) / len(per_type) if per_type else 0.0 for name in names
    }
    return {"micro": micro, "macro": macro, "per_type": per_type}


__all__ = [
    "example_counts",
    "flatten_scores",
    "format_relation_scores",
    "fragment_scores",
    "micro_macro_scores",
    "relation_scores",
    "seqeval_scores",
    "span_scores",
    "spans_to_iob2",
]
