import pytest
import torch
from conftest import processor_for

from multiner import MultiNerDataCollator

TYPES = ["PER", "LOC"]


@pytest.fixture
def processor(bert_dir):
    return processor_for(bert_dir, entity_types=TYPES, queries={"PER": "person", "LOC": "a place"})


def test_pads_sequences_contexts_and_labels(processor):
    rows = processor.preprocess(
        {
            "text": ["Ada Lovelace was born in London.", "Paris."],
            "entities": [
                [{"start": 0, "end": 12, "label": "PER"}, {"start": 25, "end": 31, "label": "LOC"}],
                [],
            ],
        }
    )
    features = [dict(zip(rows, values)) for values in zip(*rows.values())]
    batch = MultiNerDataCollator.from_processor(processor)(features)
    long_context, short_context = len(features[0]["start_mask"]), len(features[1]["start_mask"])
    assert batch["input_ids"].shape == (2, 2, max(len(ids) for row in features for ids in row["input_ids"]))
    assert batch["context_mask"].tolist() == [
        [1] * long_context,
        [1] * short_context + [0] * (long_context - short_context),
    ]
    # the attention mask covers exactly each sequence, the rest is the tokenizer's padding token
    for row, feature in enumerate(features):
        for type_pos, ids in enumerate(feature["input_ids"]):
            assert batch["attention_mask"][row, type_pos].sum() == len(ids)
            assert batch["input_ids"][row, type_pos, : len(ids)].tolist() == ids
            assert set(batch["input_ids"][row, type_pos, len(ids) :].tolist()) <= {processor.tokenizer.pad_token_id}
    assert batch["labels"].shape == (2, 2, 3)
    assert batch["labels"][1].tolist() == [[-100] * 3] * 2
    assert batch["labels"][0].tolist() == features[0]["labels"]
    assert all(value.dtype == torch.int64 for value in batch.values())


def test_pad_to_multiple_of(processor):
    row = processor.preprocess({"text": "Ada Lovelace.", "entities": []})
    batch = MultiNerDataCollator.from_processor(processor, pad_to_multiple_of=8)([row])
    assert batch["input_ids"].shape[-1] % 8 == 0


def test_rows_with_different_types_raise(processor):
    row = processor.preprocess({"text": "Ada Lovelace.", "entities": []})
    other = {**row, "input_ids": row["input_ids"][:1], "token_type_ids": row["token_type_ids"][:1]}
    with pytest.raises(ValueError, match="same entity types"):
        MultiNerDataCollator.from_processor(processor)([row, other])


def test_only_pytorch_tensors(processor):
    with pytest.raises(ValueError, match="PyTorch tensors only"):
        MultiNerDataCollator.from_processor(processor, return_tensors="np")
