import warnings
from types import SimpleNamespace

import datasets
import numpy as np
import pytest
from conftest import processor_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multiner import AutoProcessor, MultiNerConfig, MultiNerProcessor, UnrepresentableEntityWarning, default_query
from multiner.modeling_core import MASKED_LOGIT

TYPES = ["PER", "LOC", "ORG"]
SHORT_QUERIES = {"PER": "person", "LOC": "place", "ORG": "group"}


def gold_logits(processor, rows):
    """Logits a perfect model would give: +10 on gold starts, ends and spans, masked like the model masks."""
    context = max(len(row["start_mask"]) for row in rows)
    types, span = len(processor.entity_types), processor.max_span_length
    start = np.full((len(rows), context, types), -10.0)
    end, spans = start.copy(), np.full((len(rows), context, span, types), -10.0)
    for index, row in enumerate(rows):
        for type_pos, first, last in row["labels"]:
            if type_pos >= 0:
                start[index, first, type_pos] = end[index, last, type_pos] = 10.0
                spans[index, first, last - first, type_pos] = 10.0
        length = len(row["start_mask"])
        start[index, length:] = end[index, length:] = spans[index, length:] = MASKED_LOGIT
    return SimpleNamespace(start_logits=start, end_logits=end, span_logits=spans)


def rows_of(columns):
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5)


@st.composite
def documents(draw):
    tokens = draw(st.lists(words, min_size=1, max_size=45))
    separators = [draw(st.sampled_from([" ", "  ", ", ", " - "])) for _ in tokens[1:]] + [""]
    spans = draw(
        st.lists(st.tuples(st.integers(0, len(tokens) - 1), st.integers(1, 3), st.sampled_from(TYPES)), max_size=8)
    )
    entities = {(start, min(start + width, len(tokens)), label) for start, width, label in spans}
    return tokens, separators, sorted(entities)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents(), st.booleans())
def test_gold_labels_decode_back_to_exactly_the_spans(bert_dir, document, as_text):
    tokens, separators, entities = document
    # a short window so that long documents are split into several overlapping windows
    processor = processor_for(
        bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=48, stride=24, max_span_length=16
    )
    if as_text:
        starts, text = [], ""
        for token, separator in zip(tokens, separators):
            starts.append(len(text))
            text += token + separator
        source = {"text": text}
        expected = {(label, starts[s], starts[e - 1] + len(tokens[e - 1])) for s, e, label in entities}
    else:
        source = {"tokens": tokens}
        expected = set(entities) and {(label, s, e) for s, e, label in entities}
    example = {**source, "entities": [{"start": s, "end": e, "label": label} for label, s, e in expected]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnrepresentableEntityWarning)
        columns = processor.preprocess({name: [value] for name, value in example.items()})
    batch = processor(**source)
    assert [len(ids) for ids in columns["input_ids"][0]] == [int(n) for n in batch["attention_mask"][0].sum(-1)]
    decoded = processor.decode(gold_logits(processor, rows_of(columns)), batch)[0]
    assert {(e["entity_group"], e["start"], e["end"]) for e in decoded} == expected
    for entity in decoded:
        covered = (
            example["text"][entity["start"] : entity["end"]]
            if as_text
            else " ".join(tokens[entity["start"] : entity["end"]])
        )
        assert entity["word"] == covered
        assert isinstance(entity["score"], float)


def test_long_text_is_split_into_overlapping_windows_and_nothing_is_lost(bert_dir):
    processor = processor_for(bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=40, stride=12)
    text = " ".join(f"word{i}" for i in range(200))
    batch = processor(text)
    windows = batch.windows
    assert len(windows) > 5
    assert windows[0].start == 0 and windows[-1].stop == len(batch.contexts[0].ids)
    assert all(previous.stop > following.start for previous, following in zip(windows, windows[1:]))
    assert max(int(n) for n in batch["attention_mask"].sum(-1).flatten()) <= 40


def test_flat_decoding_keeps_the_best_non_overlapping_spans(bert_dir):
    processor = processor_for(bert_dir, entity_types=TYPES, max_span_length=8)
    text = "Bank of Portugal opened."
    entities = [{"start": 0, "end": 16, "label": "ORG"}, {"start": 8, "end": 16, "label": "LOC"}]
    row = processor.preprocess({"text": text, "entities": entities})
    outputs = gold_logits(processor, [row])
    outputs.span_logits[0, 2, 0, 1] = 3.0  # the nested LOC is less certain than the ORG
    batch = processor(text)
    nested = processor.decode(outputs, batch)[0]
    assert [(e["entity_group"], e["word"]) for e in nested] == [("ORG", "Bank of Portugal"), ("LOC", "Portugal")]
    flat = processor.decode(outputs, batch, flat=True)[0]
    assert [(e["entity_group"], e["word"]) for e in flat] == [("ORG", "Bank of Portugal")]


def test_roberta_offsets_map_back_to_characters(roberta_dir):
    processor = processor_for(roberta_dir, entity_types=TYPES, max_span_length=8)
    text = "Alan Turing worked at the University of Manchester."
    entities = [{"start": 0, "end": 11, "label": "PER"}, {"start": 26, "end": 50, "label": "ORG"}]
    row = processor.preprocess({"text": text, "entities": entities})
    assert "token_type_ids" not in row
    decoded = processor.decode(gold_logits(processor, [row]), processor(text))[0]
    assert [(e["start"], e["end"], e["word"]) for e in decoded] == [
        (0, 11, "Alan Turing"),
        (26, 50, "University of Manchester"),
    ]


def test_decoding_window_batch_by_window_batch_gives_what_decode_gives(bert_dir):
    """tokenize + batches(windows_per_batch) + window_results + results (the pipeline's bounded-memory path) decode a
    long text exactly as one batch of all its windows does; a bad threshold is an error naming it."""
    processor = processor_for(
        bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=24, stride=6, max_span_length=8
    )
    sentence = "Alan Turing worked at the University of Manchester in England."
    text = " ".join([sentence] * 6)
    gold = []
    for copy in range(6):
        offset = copy * (len(sentence) + 1)
        gold += [
            {"start": offset, "end": offset + 11, "label": "PER"},
            {"start": offset + 26, "end": offset + 50, "label": "ORG"},
            {"start": offset + 54, "end": offset + 61, "label": "LOC"},
        ]
    rows = rows_of(processor.preprocess({"text": [text], "entities": [gold]}))
    outputs = gold_logits(processor, rows)
    whole = processor.decode(outputs, processor(text))
    texts = processor.tokenize(text=[text, "   "], allow_empty=True)
    assert texts.contexts[1] is None and len(texts.windows) == len(rows) == 5
    spans, begin = [], 0
    for batch in processor.batches(texts, windows_per_batch=2):
        size = len(batch.windows)
        assert size <= 2
        part = SimpleNamespace(**{name: value[begin : begin + size] for name, value in vars(outputs).items()})
        # this batch is padded to its own longest window; the gold logits to the longest of all
        width = batch["start_mask"].shape[1]
        part = SimpleNamespace(
            start_logits=part.start_logits[:, :width],
            end_logits=part.end_logits[:, :width],
            span_logits=part.span_logits[:, :width],
        )
        spans += processor.window_results(part, batch)
        begin += size
    assert processor.results(texts, spans) == [whole[0], []]
    assert {(e["start"], e["end"], e["entity_group"]) for e in whole[0]} == {
        (e["start"], e["end"], e["label"]) for e in gold
    }
    for threshold, error in ((-1, ValueError), (1.0, ValueError), ("high", TypeError), (True, TypeError)):
        with pytest.raises(error, match="threshold"):
            processor.decode(outputs, processor(text), threshold=threshold)


def test_unrepresentable_entities_are_counted_and_reported(bert_dir):
    processor = processor_for(
        bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=24, stride=4, max_span_length=4
    )
    text = "Alan Turing worked at the University of Manchester in England for many years after the war."
    entities = [
        {"start": 0, "end": 11, "label": "PER"},  # fine
        {"start": 1, "end": 11, "label": "PER"},  # starts inside a word
        {"start": 26, "end": 50, "label": "ORG"},  # 3 words, fits
        {"start": 0, "end": 50, "label": "ORG"},  # longer than max_span_length
    ]
    with pytest.warns(UnrepresentableEntityWarning, match="2 gold entities cannot be represented") as record:
        processor.preprocess({"text": text, "entities": entities[:2] + entities[3:]} | {"entities": entities})
    message = str(record[0].message)
    assert "1 because its start or end falls inside a word" in message
    assert "1 because it spans more tokens than max_span_length" in message
    assert processor.unrepresentable == {"misaligned": 1, "too_long": 1}


def test_unrepresentable_counts_survive_num_proc_and_the_map_cache(bert_dir, tmp_path):
    """The counts ride in the rows: exact when the examples are preprocessed in worker processes (where the
    processor's own counter and warnings stay in the workers) and when the rows come from the map cache."""
    processor = processor_for(
        bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=24, stride=4, max_span_length=4
    )
    text = "Alan Turing worked at the University of Manchester in England for many years after the war." * 3
    entities = [
        {"start": 0, "end": 11, "label": "PER"},
        {"start": 1, "end": 11, "label": "PER"},  # starts inside a word
        {"start": 0, "end": 50, "label": "ORG"},  # longer than max_span_length
    ]
    data = datasets.Dataset.from_list([{"text": text, "entities": entities}] * 6)
    data.save_to_disk(tmp_path / "data")
    data = datasets.load_from_disk(tmp_path / "data")  # a file-backed dataset, so that map caches
    expected = {"misaligned": 6, "too_long": 6}
    options = {"batched": True, "batch_size": 2, "num_proc": 2, "remove_columns": ["text", "entities"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnrepresentableEntityWarning)
        rows = data.map(processor.preprocess, **options)
        assert processor.unrepresentable == {}  # counted in the workers, not here
        assert MultiNerProcessor.count_unrepresentable(rows) == expected
        cached = data.map(processor.preprocess, **options)
    assert cached.cache_files == rows.cache_files
    assert MultiNerProcessor.count_unrepresentable(cached) == expected
    assert len(rows) == 6 * len(processor(text).windows) > 6  # the counts ride on each example's first row
    with pytest.raises(ValueError, match="no 'unrepresentable' column"):
        MultiNerProcessor.count_unrepresentable(rows.remove_columns("unrepresentable"))


def test_a_window_does_not_teach_a_cut_entity_boundary_as_a_non_boundary(bert_dir):
    processor = processor_for(
        bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=12, stride=3, max_span_length=8
    )
    text = "one two three four five six seven eight nine ten eleven twelve"  # windows of 8 tokens
    start = text.index("seven")
    end = text.index("nine") + len("nine")
    rows = rows_of(
        processor.preprocess({"text": [text], "entities": [[{"start": start, "end": end, "label": "ORG"}]]})
    )
    context = processor(text).contexts[0]
    first = next(i for i, (s, _) in enumerate(context.offsets) if s == start)
    last = next(i for i, (_, e) in enumerate(context.offsets) if e == end)
    windows = processor(text).windows
    cutting = [i for i, w in enumerate(windows) if w.start <= first < w.stop <= last]
    holding = [i for i, w in enumerate(windows) if w.start <= first and last < w.stop]
    assert cutting and holding
    for index in cutting:
        assert rows[index]["start_mask"][first - windows[index].start] == 0
        assert rows[index]["labels"] == [[-100] * 3]
    for index in holding:
        assert rows[index]["start_mask"][first - windows[index].start] == 1
        assert rows[index]["labels"] == [
            [TYPES.index("ORG"), first - windows[index].start, last - windows[index].start]
        ]


def test_entity_that_fits_no_window_is_counted(bert_dir):
    processor = processor_for(
        bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=14, stride=2, max_span_length=32
    )
    text = "one two three four five six seven eight nine ten eleven twelve"
    with pytest.warns(UnrepresentableEntityWarning, match="fits in no window"):
        processor.preprocess({"text": [text], "entities": [[{"start": 0, "end": len(text), "label": "ORG"}]]})
    assert processor.unrepresentable == {"window": 1}


def test_single_example_needing_several_windows_asks_for_batched(bert_dir):
    processor = processor_for(bert_dir, entity_types=TYPES, queries=SHORT_QUERIES, max_length=14, stride=2)
    with pytest.raises(ValueError, match="batched=True"):
        processor.preprocess({"text": " ".join(["word"] * 40), "entities": []})


@pytest.mark.parametrize(
    ("example", "message"),
    [
        ({"text": "", "entities": []}, "empty or whitespace-only"),
        ({"text": "   ", "entities": []}, "empty or whitespace-only"),
        ({"text": 42, "entities": []}, "must be a non-empty string"),
        ({"tokens": ["a", ""], "entities": []}, "non-empty list of non-empty words"),
        ({"text": "Paris", "entities": [{"start": 0, "end": 9, "label": "LOC"}]}, "outside the input of length 5"),
        ({"text": "Paris", "entities": [{"start": 3, "end": 3, "label": "LOC"}]}, "0 <= start < end"),
        ({"text": "Paris", "entities": [{"start": 0.0, "end": 5, "label": "LOC"}]}, "must be integers"),
        ({"text": "Paris", "entities": [{"start": 0, "end": 5, "label": "CITY"}]}, "unknown entity type 'CITY'"),
        ({"text": "Paris", "entities": [{"start": 0, "label": "LOC"}]}, "'start', 'end' and 'label'"),
        ({"text": "Cafe\u0301 Paris", "entities": [{"start": 0, "end": 4, "label": "LOC"}]}, "splits a character"),
        ({"text": "Paris", "tokens": ["Paris"], "entities": []}, "exactly one of 'text'"),
        ({"text": "Paris"}, "needs an 'entities' column"),
    ],
)
def test_bad_input_raises_a_clear_error(bert_dir, example, message):
    processor = processor_for(bert_dir, entity_types=TYPES)
    with pytest.raises(ValueError, match=message):
        processor.preprocess(example)


def test_unknown_query_type_and_too_long_queries_raise(bert_dir):
    with pytest.raises(ValueError, match=r"queries given for unknown entity types \['DATE'\]"):
        processor_for(bert_dir, entity_types=TYPES, queries={"DATE": "dates"})
    with pytest.raises(ValueError, match="shorten the queries or raise max_length"):
        processor_for(bert_dir, entity_types=TYPES, max_length=30)


def test_processor_whose_types_differ_from_the_model_raises(bert_dir):
    config = MultiNerConfig(
        encoder_config={"model_type": "bert", "hidden_size": 32, "num_attention_heads": 2}, entity_types=["LOC", "PER"]
    )
    processor = processor_for(bert_dir, entity_types=["PER", "LOC"], max_span_length=32)
    with pytest.raises(
        ValueError, match=r"entity_types=\['PER', 'LOC'\].*the model has entity_types=\['LOC', 'PER'\]"
    ):
        processor.check_model_config(config)


def test_default_queries_and_template():
    assert default_query("PER") == "person entities are named persons or family."
    assert default_query("DNA") == "deoxyribonucleic acid"
    assert default_query("Peop") == "find all peop entities in the text."


def test_save_and_auto_load(bert_dir, tmp_path):
    processor = processor_for(bert_dir, entity_types=TYPES, queries={"PER": "people"}, stride=5)
    processor.save_pretrained(tmp_path)
    # AutoProcessor resolves the class through the model config's type
    MultiNerConfig(
        encoder_config={"model_type": "bert", "hidden_size": 32, "num_attention_heads": 2}, entity_types=TYPES
    ).save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(loaded, MultiNerProcessor)
    assert loaded.queries == processor.queries and loaded.stride == 5 and loaded.entity_types == TYPES
    assert loaded("Ada Lovelace")["input_ids"].tolist() == processor("Ada Lovelace")["input_ids"].tolist()


def test_checkpoint_folder_missing_files_raises(tmp_path):
    config = {"model_type": "bert", "hidden_size": 32, "num_attention_heads": 2}
    MultiNerConfig(encoder_config=config, entity_types=TYPES).save_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing processor_config.json, tokenizer.json or tokenizer_config"):
        AutoProcessor.from_pretrained(tmp_path)
