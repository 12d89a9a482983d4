"""Readers for common NER files, all returning examples as `{"tokens": [...], "entities": [{"start", "end",
"label"}]}` with word-index spans (end exclusive), the input `MultiNerProcessor.preprocess` takes."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from itertools import accumulate
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities


def read_conll(path: str | Path, tag_column: int = -1, documents: bool = False) -> list:
    """Sentences of a CoNLL column file (`token ... tag` per line, blank line between sentences).

    Tags may be IOB1 (CoNLL-2003: `I-` opens an entity unless it continues one of the same type, `B-` only
    separates two adjacent entities of one type) or IOB2 (`B-` opens every entity); both read the same way.
    Columns are split on tabs when a line has one (so a token may contain spaces: `New York<TAB>B-LOC`), else on
    whitespace. With `documents=True` the result is a list of documents, each the list of its sentences, split at
    `-DOCSTART-` lines (a file without them is one document); otherwise `-DOCSTART-` lines are skipped. Errors name
    the file and line.

    Example:
        >>> read_conll("eng.testa")[1]  # doctest: +SKIP
        {'tokens': ['LONDON', '1996-08-30'], 'entities': [{'start': 0, 'end': 1, 'label': 'LOC'}]}
        >>> len(read_conll("eng.testa", documents=True))  # doctest: +SKIP
        216
    """
    found: list[list[dict]] = [[]]
    tokens, tags, first_line = [], [], 0

    def close_sentence() -> None:
        if tokens:
            try:
                entities = iob_to_spans(tags)
            except ValueError as error:
                raise ValueError(f"{path}:{first_line}: sentence starting here: {error}") from None
            found[-1].append({"tokens": list(tokens), "entities": entities})
        tokens.clear()
        tags.clear()

    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            line = line.rstrip("\r\n")
            columns = [column.strip() for column in line.split("\t")] if "\t" in line else line.split()
            if not any(columns):
                close_sentence()
                continue
            if columns[0] == "-DOCSTART-":
                close_sentence()
                if found[-1]:
                    found.append([])
                continue
            if len(columns) < 2 or not columns[0] or not columns[tag_column]:
                raise ValueError(f"{path}:{number}: expected a token and a tag column, got {line!r}.")
            if not tokens:
                first_line = number
            tokens.append(columns[0])
            tags.append(columns[tag_column])
    close_sentence()
    documents_found = [document for document in found if document]
    return documents_found if documents else [sentence for document in documents_found for sentence in document]


def sentences_to_text(sentences: Sequence[dict], separator: str = "\n") -> dict:
    r"""One text example from word-level sentences: words joined by spaces, sentences by `separator`, and the
    entities moved to character offsets (end exclusive).

    Example:
        >>> sentences_to_text([{"tokens": ["Ada", "spoke", "."], "entities": []},
        ...                    {"tokens": ["Paris", "!"], "entities": [{"start": 0, "end": 1, "label": "LOC"}]}])
        {'text': 'Ada spoke .\nParis !', 'entities': [{'start': 12, 'end': 17, 'label': 'LOC'}]}
    """
    text, entities = "", []
    for position, sentence in enumerate(sentences):
        if position:
            text += separator
        starts = []
        for index, word in enumerate(sentence["tokens"]):
            if index:
                text += " "
            starts.append(len(text))
            text += word
        ends = [start + len(word) for start, word in zip(starts, sentence["tokens"])]
        entities += [
            {"start": starts[e["start"]], "end": ends[e["end"] - 1], "label": e["label"]} for e in sentence["entities"]
        ]
    return {"text": text, "entities": entities}


def join_texts(examples: Sequence[dict], separator: str = " ") -> dict:
    """One text example from text examples (`text` + character-offset `entities`, with their `fragments`, and
    `relations` when the examples have them), joined by `separator`: a short document made of sentences, for training
    and evaluating on text longer than one sentence.

    Example:
        >>> join_texts([{"text": "Ada spoke.", "entities": []},
        ...             {"text": "Paris!", "entities": [{"start": 0, "end": 5, "label": "LOC"}]}])
        {'text': 'Ada spoke. Paris!', 'entities': [{'start': 11, 'end': 16, 'label': 'LOC'}]}
    """
    text, entities, relations = "", [], []

    def shifted(span: dict) -> dict:
        moved = {**span, "start": span["start"] + len(text), "end": span["end"] + len(text)}
        if "fragments" in span:
            moved["fragments"] = [shifted(fragment) for fragment in span["fragments"]]
        return moved

    for position, example in enumerate(examples):
        if position:
            text += separator
        relations += [
            {**r, "head": r["head"] + len(entities), "tail": r["tail"] + len(entities)}
            for r in example.get("relations", [])
        ]
        entities += [shifted(entity) for entity in example["entities"]]
        text += example["text"]
    joined = {"text": text, "entities": entities}
    if any("relations" in example for example in examples):
        joined["relations"] = relations
    return joined


def consecutive_runs(items: Sequence, rng: random.Random, shortest: int, longest: int) -> list[list]:
    """`items` cut into consecutive runs of `shortest` to `longest` items (lengths drawn from `rng`; the last run may
    be shorter).

    Example:
        >>> [len(run) for run in consecutive_runs(list(range(10)), random.Random(0), 2, 4)]
        [3, 3, 2, 2]
    """
    runs, start = [], 0
    while start < len(items):
        size = rng.randint(shortest, longest)
        runs.append(list(items[start : start + size]))
        start += size
    return runs


TRAIN_ON = ("sentences", "documents", "both")


def training_texts(documents: Sequence[Sequence[dict]], train_on: str = "sentences", seed: int = 0) -> list[dict]:
    """Text examples for training from word-level sentences grouped by document: `sentences`, each sentence alone;
    `documents`, runs of 2 to 8 consecutive sentences of a document joined by newlines; `both`, the two together."""
    if train_on not in TRAIN_ON:
        raise ValueError(f"train_on={train_on!r} is not one of {', '.join(TRAIN_ON)}.")
    texts = []
    if train_on in ("sentences", "both"):
        texts += [sentences_to_text([sentence]) for document in documents for sentence in document]
    if train_on in ("documents", "both"):
        rng = random.Random(seed)
        texts += [sentences_to_text(run) for document in documents for run in consecutive_runs(document, rng, 2, 8)]
    return texts


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

    Nested entities stay nested. Errors name the file and line.
    """

    def example(record: dict) -> dict:
        entities = [
            {"start": mention["start"], "end": mention["end"], "label": mention["entity_type"]}
            for mention in record["entity_mentions"]
        ]
        return {"tokens": record["tokens"], "entities": entities}

    expected = "{'tokens': [...], 'entity_mentions': [{'start', 'end', 'entity_type'}]}"
    return [example for _, example in _json_lines(path, example, expected)]


def _json_lines(path: str | Path, example: Callable[[dict], dict], expected: str) -> Iterator[tuple[int, dict]]:
    """(line number, `example(record)`) for every non-blank line of a jsonlines file; a line that is not JSON, or
    whose record `example` cannot read (a missing key, a wrong type), raises an error naming the file and line."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield number, example(json.loads(line))
            except json.JSONDecodeError as error:
                message = f"{path}:{number}: not a JSON object ({error.msg} at column {error.colno})."
                raise ValueError(message) from None
            except (KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: expected {expected}, missing or malformed {error}.") from None


def read_spert_json(path: str | Path) -> list[dict]:
    """SpERT-style json (CoNLL04, ADE): a list of {tokens, entities [{type, start, end (exclusive)}], relations
    [{type, head, tail}]} -> `{"tokens", "entities": [{"start", "end", "label"}], "relations": [{"head", "tail",
    "type"}]}` with word offsets and relation arguments as indices into `entities` (no relations: an empty list).

    Errors name the file and the line (or the record) at fault."""
    with open(path, encoding="utf-8") as file:
        try:
            records = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{error.lineno}: not JSON ({error.msg} at column {error.colno}).") from None
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected a JSON list of records, got {type(records).__name__}.")
    examples = []
    for number, record in enumerate(records):
        try:
            entities = [{"start": e["start"], "end": e["end"], "label": e["type"]} for e in record["entities"]]
            relations = [
                {"head": r["head"], "tail": r["tail"], "type": r["type"]} for r in record.get("relations", [])
            ]
            examples.append({"tokens": record["tokens"], "entities": entities, "relations": relations})
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"{path}: record {number}: expected {{'tokens': [...], 'entities': [{{'type', 'start', 'end'}}]}}, "
                f"missing or malformed {error}."
            ) from None
    return examples


def words_to_text(example: dict) -> dict:
    """A word-offset example (`tokens`, entities in word indices, optional fragments and relations) as raw text: the
    words joined by single spaces, entity (and fragment) offsets in characters; relations unchanged (they index the
    entities).

    Example:
        >>> words_to_text({"tokens": ["Ada", "lived", "in", "Rome"], "entities": [{"start": 3, "end": 4,
        ...                "label": "Loc"}]})["entities"]
        [{'start': 13, 'end': 17, 'label': 'Loc'}]
    """
    starts = list(accumulate((len(word) + 1 for word in example["tokens"][:-1]), initial=0))
    words = example["tokens"]

    def characters(span: dict) -> dict:
        return {"start": starts[span["start"]], "end": starts[span["end"] - 1] + len(words[span["end"] - 1])}

    entities = []
    for entity in example["entities"]:
        converted_entity = {**characters(entity), "label": entity["label"]}
        if "fragments" in entity:
            converted_entity["fragments"] = [characters(fragment) for fragment in entity["fragments"]]
        entities.append(converted_entity)
    converted = {"text": " ".join(example["tokens"]), "entities": entities}
    if "relations" in example:
        converted["relations"] = [dict(relation) for relation in example["relations"]]
    return converted


def read_relation_jsonl(path: str | Path) -> list[dict]:
    """Raw-text jsonlines with relations: per line `{"text", "entities": [{"start", "end", "label"}], "relations":
    [{"head", "tail", "type"}]}` (character offsets, end exclusive; head and tail index `entities`). Errors name the
    file and line; the processor checks offsets and types."""

    def example(record: dict) -> dict:
        return {
            "text": record["text"],
            "entities": [{"start": e["start"], "end": e["end"], "label": e["label"]} for e in record["entities"]],
            "relations": [
                {"head": r["head"], "tail": r["tail"], "type": r["type"]} for r in record.get("relations", [])
            ],
        }

    expected = "{'text': ..., 'entities': [{'start', 'end', 'label'}], 'relations': [{'head', 'tail', 'type'}]}"
    examples = []
    for number, read in _json_lines(path, example, expected):
        if not isinstance(read["text"], str):
            raise ValueError(f"{path}:{number}: 'text' must be a string, got {type(read['text']).__name__}.")
        examples.append(read)
    return examples


def write_relation_jsonl(path: str | Path, examples: Iterable[dict]) -> None:
    """Write `{"text", "entities", "relations"}` examples as jsonlines that `read_relation_jsonl` reads back."""
    with open(path, "w", encoding="utf-8") as file:
        for example in examples:
            record = {
                "text": example["text"],
                "entities": example["entities"],
                "relations": example.get("relations", []),
            }
            file.write(json.dumps(record, ensure_ascii=False) + "\n")


def remove_overlapping_entities(examples: Iterable[dict]) -> tuple[list[dict], Counter]:
    """The examples without overlapping entities, as BIO tagging needs (the ADE protocol of Crone 2020): of two
    overlapping entities the longer is kept (the earlier on a tie); the relations of a removed entity go with it.
    Returns the new examples and the counts removed (`entities`, `relations`), so that they can be reported.

    Example:
        >>> kept, removed = remove_overlapping_entities([{"tokens": ["a", "b", "c"], "entities": [
        ...     {"start": 0, "end": 2, "label": "X"}, {"start": 1, "end": 2, "label": "Y"}],
        ...     "relations": [{"head": 1, "tail": 0, "type": "R"}]}])
        >>> kept[0]["entities"], kept[0]["relations"], dict(removed)
        ([{'start': 0, 'end': 2, 'label': 'X'}], [], {'entities': 1, 'relations': 1})
    """
    removed: Counter = Counter()
    cleaned = []
    for example in examples:
        entities = example["entities"]
        order = sorted(
            range(len(entities)), key=lambda i: (entities[i]["start"] - entities[i]["end"], entities[i]["start"], i)
        )
        kept: list[int] = []
        for index in order:
            entity = entities[index]
            if all(entity["end"] <= entities[k]["start"] or entities[k]["end"] <= entity["start"] for k in kept):
                kept.append(index)
        kept.sort()
        new_index = {old: new for new, old in enumerate(kept)}
        relations = [
            {**relation, "head": new_index[relation["head"]], "tail": new_index[relation["tail"]]}
            for relation in example.get("relations", [])
            if relation["head"] in new_index and relation["tail"] in new_index
        ]
        removed["entities"] += len(entities) - len(kept)
        removed["relations"] += len(example.get("relations", [])) - len(relations)
        cleaned.append({**example, "entities": [entities[i] for i in kept], "relations": relations})
    return cleaned, removed


def ade_fold(folder: str | Path, fold: int) -> tuple[list[dict], list[dict]]:
    """ADE's standard 10-fold cross-validation: `(train, test)` of fold `fold` (0-9), where test is
    `ade_split_{fold}_test.json` and train is `ade_full.json` less those sentences (matched by `orig_id`)."""
    folder = Path(folder)
    if not isinstance(fold, int) or not 0 <= fold <= 9:
        raise ValueError(f"ADE has folds 0 to 9, got fold={fold!r}.")
    with open(folder / f"ade_split_{fold}_test.json", encoding="utf-8") as file:
        test_ids = {record["orig_id"] for record in json.load(file)}
    with open(folder / "ade_full.json", encoding="utf-8") as file:
        full_ids = [record["orig_id"] for record in json.load(file)]
    examples = read_spert_json(folder / "ade_full.json")
    train = [example for example, key in zip(examples, full_ids) if key not in test_ids]
    test = [example for example, key in zip(examples, full_ids) if key in test_ids]
    return train, test


_FRAGMENTED_MENTION = re.compile(r"^(\d+,\d+(?:,\d+,\d+)*) (\S+)$")


def read_discontinuous(path: str | Path) -> list[dict]:
    r"""The standard discontinuous NER format (Dai et al. 2020; CADEC, ShARe): per sentence a line of words separated
    by spaces, a line of mentions `start,end[,start,end...] TYPE` separated by `|` (inclusive word indices, one pair
    per fragment; empty when there are none), then a blank line.

    Entities come back in word offsets, end exclusive, each with its `fragments` (`start`/`end` span the first to the
    last fragment). Errors name the file and line.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
        >>> _ = path.write_text("pain in legs and arms\n0,0,4,4 ADR|0,2 ADR\n\n")
        >>> read_discontinuous(path)[0]["entities"][0]
        {'start': 0, 'end': 5, 'label': 'ADR', 'fragments': [{'start': 0, 'end': 1}, {'start': 4, 'end': 5}]}
    """
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    examples = []
    number = 0
    while number < len(lines):
        if not lines[number].strip():
            number += 1
            continue
        words = lines[number].split()
        annotation = lines[number + 1].strip() if number + 1 < len(lines) else ""
        entities = []
        for mention in filter(None, annotation.split("|")):
            match = _FRAGMENTED_MENTION.match(mention.strip())
            bounds = [int(value) for value in match.group(1).split(",")] if match else []
            fragments = [{"start": first, "end": last + 1} for first, last in zip(bounds[::2], bounds[1::2])]
            if not match or any(f["end"] > len(words) or f["start"] >= f["end"] for f in fragments):
                raise ValueError(
                    f"{path}, line {number + 2}: {mention!r} is not a mention 'start,end[,start,end...] TYPE' of "
                    f"inclusive word indices inside the {len(words)} words of line {number + 1}."
                )
            label = match.group(2)
            entities.append(
                {"start": fragments[0]["start"], "end": fragments[-1]["end"], "label": label, "fragments": fragments}
            )
        examples.append({"tokens": words, "entities": entities})
        number += 2
    return examples


SAMPLES = {"ner": "sample", "relations": "sample_relations", "discontinuous": "sample_discontinuous"}


def sample_dataset(split: str, kind: str = "ner", documents: bool = False, seed: int = 0):
    """A small sample dataset shipped with the package (written for this project from templates and invented names;
    `examples/make_sample_data.py`), as a `datasets.Dataset` of text examples with character-offset entities:

    - `kind="ner"` (Multi-NER): PER / LOC / ORG / MISC, some ORG names nesting a LOC;
    - `kind="relations"` (joint ER): PER / ORG / LOC and Work_For / Live_In / Based_In relations;
    - `kind="discontinuous"` (seq2seq): ADR and Drug, some ADR mentions in two fragments.

    `split` is "train" (240 examples) or "dev" (60). With `documents=True` the same examples also come joined into
    short documents (runs of 2 to 4 consecutive examples, separated by a space; entities only), so that a model
    learns where entities stop in running text.

    Example:
        >>> sample_dataset("train", kind="relations")[0]["relations"]
        [{'head': 0, 'tail': 1, 'type': 'Live_In'}]
    """
    import datasets

    if kind not in SAMPLES or split not in ("train", "dev"):
        raise ValueError(f"sample_dataset: split is 'train' or 'dev' and kind one of {sorted(SAMPLES)}.")
    path = resources.files("multiner") / "data" / f"{SAMPLES[kind]}_{split}.jsonl"
    with path.open(encoding="utf-8") as lines:
        examples = [json.loads(line) for line in lines]
    if documents:
        examples += [join_texts(run) for run in consecutive_runs(examples, random.Random(seed), 2, 4)]
    return datasets.Dataset.from_list(examples)


def entity_types_of(examples: Iterable[dict]) -> list[str]:
    """The sorted labels used in `examples`."""
    return sorted({entity["label"] for example in examples for entity in example["entities"]})


def entity_base_of(examples: Iterable[dict]) -> dict[str, dict[str, int]]:
    """An entity base from labelled raw-text examples: per type, each entity's text (a discontinuous entity's
    fragments joined by a space) and how often it occurs; seeds/001's entity-type attention weights names by it.

    Example:
        >>> entity_base_of([{"text": "Aspirin and aspirin.", "entities": [{"start": 0, "end": 7, "label": "Drug"},
        ...                 {"start": 12, "end": 19, "label": "Drug"}]}])
        {'Drug': {'Aspirin': 1, 'aspirin': 1}}
    """
    counts: dict[str, Counter] = {}
    for example in examples:
        text = example["text"]
        for entity in example["entities"]:
            fragments = entity.get("fragments") or [entity]
            name = " ".join(text[fragment["start"] : fragment["end"]] for fragment in fragments)
            counts.setdefault(entity["label"], Counter())[name] += 1
    return {label: dict(sorted(names.items())) for label, names in sorted(counts.items())}


def read_gazetteer(path: str | Path) -> dict[str, dict[str, int]]:
    """A gazetteer as an entity base `{type: {name: count}}`: json (`{type: {name: count}}` or `{type: [names]}`,
    a listed name counting once per listing) or tab-separated lines `type<TAB>name[<TAB>count]` (count 1 when
    left out; blank lines and lines starting with `#` skipped). Errors name the file and line."""
    path = Path(path)
    base: dict[str, Counter] = {}
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid json ({error}).") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a json object {{type: {{name: count}} or [names]}}.")
        for label, names in data.items():
            if not isinstance(names, (dict, list)):
                raise ValueError(f"{path}: type {label!r} must map to a {{name: count}} object or a list of names.")
            for name, count in names.items() if isinstance(names, dict) else ((name, 1) for name in names):
                _add_gazetteer_name(base, label, name, count, f"{path}: type {label!r}")
        return {label: dict(names) for label, names in base.items()}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            raise ValueError(f"{path}, line {number}: expected 'type<TAB>name[<TAB>count]', got {line!r}.")
        count = fields[2].strip() if len(fields) == 3 else "1"
        if not count.isdigit():
            raise ValueError(f"{path}, line {number}: the count {count!r} is not a positive integer.")
        _add_gazetteer_name(base, fields[0].strip(), fields[1].strip(), int(count), f"{path}, line {number}")
    return {label: dict(names) for label, names in base.items()}


def _add_gazetteer_name(base: dict, label: object, name: object, count: object, where: str) -> None:
    if not isinstance(label, str) or not label or not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: a type and a name must be non-empty strings, got {label!r} and {name!r}.")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{where}: the count of {name!r} must be a positive integer, got {count!r}.")
    base.setdefault(label, Counter())[name.strip()] += count


__all__ = [
    "TRAIN_ON",
    "entity_base_of",
    "read_gazetteer",
    "consecutive_runs",
    "entity_types_of",
    "iob_to_spans",
    "join_texts",
    "read_conll",
    "read_discontinuous",
    "read_spert_json",
    "read_relation_jsonl",
    "read_word_span_jsonl",
    "remove_overlapping_entities",
    "write_relation_jsonl",
    "words_to_text",
    "ade_fold",
    "sentences_to_text",
    "training_texts",
]
