"""The query-mode registry: one entry pairs the processor's layout, the model's encoding and the collator's fields."""

import pytest
import torch
from conftest import processor_for

from multiner import MultiNerDataCollator, MultiNerModel, MultiNerProcessor
from multiner.query_modes_multiner import QUERY_MODES, CollatorFields, PerTypeEncoding, PerTypeLayout, QueryMode

TEXTS = ["Ada Lovelace was born in London, England.", "Alan Turing worked at the University of Manchester."]


def test_every_mode_names_its_three_parts():
    for name, mode in QUERY_MODES.items():
        assert mode.name == name
        assert hasattr(mode.layout, "features") and isinstance(mode.fields, CollatorFields)
        assert issubclass(mode.encoding, torch.nn.Module)
    assert QUERY_MODES["per_type"].fields.type_axis and not QUERY_MODES["packed"].fields.type_axis
    assert QUERY_MODES["packed"].input_names == ["query_input_ids", "query_token_type_ids", "query_spans"]


def test_a_new_mode_is_one_entry(bert_dir, monkeypatch):
    """A third mode registered under its own name works through config, model, processor and collator; here it
    reuses the per-type parts, so it must compute exactly what the per-type model computes."""
    monkeypatch.setitem(
        QUERY_MODES,
        "per_type_again",
        QueryMode("per_type_again", PerTypeLayout, PerTypeEncoding, CollatorFields(True, (), ("context_start",))),
    )
    torch.manual_seed(0)
    reference = MultiNerModel.from_encoder(bert_dir, entity_types=["PER", "LOC"], max_span_length=6).eval()
    config = reference.config.to_dict() | {"query_mode": "per_type_again"}
    model = MultiNerModel(type(reference.config).from_dict(config)).eval()
    model.load_state_dict(reference.state_dict())
    processor = MultiNerProcessor.from_model(model)
    batch = processor(TEXTS)
    collated = MultiNerDataCollator.from_processor(processor)(
        [processor._features(batch.contexts[0], batch.windows[0], processor.entity_types)]
    )
    assert set(collated) >= {"input_ids", "context_start", "input_signature"}
    reference_batch = MultiNerProcessor.from_model(reference)(TEXTS)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).span_logits, reference(**reference_batch).span_logits)


def test_unknown_modes_are_refused_everywhere_with_the_choices(bert_dir):
    with pytest.raises(ValueError, match=r"query_mode='stacked' is not allowed; use one of \('per_type', 'packed'\)"):
        processor_for(bert_dir, query_mode="stacked")
    with pytest.raises(ValueError, match="query_mode='stacked' is not allowed"):
        MultiNerDataCollator(0, query_mode="stacked")
