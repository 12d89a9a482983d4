"""Readers for common NER files, all returning examples as `{"tokens": [...], "entities": [{"start", "end",
"label"}]}` with word-index spans (end exclusive), the input `MultiNerProcessor.preprocess` takes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities


def read_conll(path: str | Path, tag_column: int = -1) -> list[dict]:
    """Sentences of a CoNLL column file (`token ... tag` per line, blank line between sentences).

    Tags may be IOB1 (CoNLL-2003: `I-` opens an entity unless it continues one of the same type, `B-` only
    separates two adjacent entities of one type) or IOB2 (`B-` opens every entity); both read the same way.
    `-DOCSTART-` lines are skipped.

    Example:
        >>> read_conll("eng.testa")[1]  # doctest: +SKIP
        {'tokens': ['LONDON', '1996-08-30'], 'entities': [{'start': 0, 'end': 1, 'label': 'LOC'}]}
    """
    examples, tokens, tags = [], [], []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            columns = line.split()
            if not columns or columns[0] == "-DOCSTART-":
                if tokens:
                    examples.append({"tokens": tokens, "entities": iob_to_spans(tags)})
                tokens, tags = [], []
                continue
            if len(columns) < 2:
                raise ValueError(f"{path}:{number}: expected a token and a tag column, got {line.strip()!r}.")
            tokens.append(columns[0])
            tags.append(columns[tag_column])
    if tokens:
        examples.append({"tokens": tokens, "entities": iob_to_spans(tags)})
    return examples


def iob_to_spans(tags: Iterable[str]) -> list[dict]:
    """Entity spans from IOB1 or IOB2 tags (seqeval's chunking, the conlleval rules), after checking every tag.

    Example:
        >>> [(s["start"], s["end"], s["label"]) for s in iob_to_spans(["I-PER", "I-PER", "B-PER", "O", "B-LOC"])]
        [(0, 2, 'PER'), (2, 3, 'PER'), (4, 5, 'LOC')]
    """
    tags = list(tags)
    for position, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        if tag != "O" and (prefix not in ("B", "I") or not label):
            raise ValueError(f"Tag {tag!r} at position {position} is not IOB (O, B-TYPE or I-TYPE).")
    return [{"start": first, "end": last + 1, "label": label} for label, first, last in get_entities(tags)]


def read_word_span_jsonl(path: str | Path) -> list[dict]:
    """Word-span jsonlines such as GENIA: `tokens` and `entity_mentions` [{start, end (exclusive), entity_type}].

    Nested entities stay nested.
    """
    examples = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                entities = [
                    {"start": mention["start"], "end": mention["end"], "label": mention["entity_type"]}
                    for mention in record["entity_mentions"]
                ]
                examples.append({"tokens": record["tokens"], "entities": entities})
    return examples


def read_spert_json(path: str | Path) -> list[dict]:
    """SpERT-style json (CoNLL04, ADE): a list of {tokens, entities [{type, start, end (exclusive)}], ...}."""
    with open(path, encoding="utf-8") as file:
        records = json.load(file)
    return [
        {
            "tokens": record["tokens"],
            "entities": [{"start": e["start"], "end": e["end"], "label": e["type"]} for e in record["entities"]],
        }
        for record in records
    ]


def entity_types_of(examples: Iterable[dict]) -> list[str]:
    """The sorted labels used in `examples`."""
    return sorted({entity["label"] for example in examples for entity in example["entities"]})


__all__ = ["entity_types_of", "iob_to_spans", "read_conll", "read_spert_json", "read_word_span_jsonl"]
