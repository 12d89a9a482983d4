"""What the three families' models share, tested once: the input signature and its check, the weighted binary
cross-entropy, window shifting."""

import math

import pytest
import torch
from conftest import tiny_bart_config

import multiner
from multiner.modeling_core import check_input_signature, shifted_windows, signature_digest, weighted_bce

BART = tiny_bart_config().to_dict()


def test_every_family_signs_exactly_its_signature_fields():
    configs = {
        multiner.MultiNerConfig: {"entity_types": ["PER", "LOC"]},
        multiner.JointErConfig: {"entity_types": ["PER", "LOC"], "relation_types": ["Work_For"]},
        multiner.Seq2SeqNerConfig: {"entity_types": ["PER", "LOC"], "encoder_config": BART, "max_target_length": 32},
    }
    for config_class, fields in configs.items():
        config = config_class(**fields)
        signature = config.input_signature()
        assert signature == signature_digest(config) and 0 <= signature < 2**63
        reordered = config_class(**{**fields, "entity_types": ["LOC", "PER"]})
        assert reordered.input_signature() != signature, config_class  # the order is part of the layout
        unsigned = config_class(**fields, encoder_name="elsewhere")
        assert unsigned.input_signature() == signature, config_class  # a setting the inputs do not depend on


def test_inputs_for_another_configuration_are_refused_naming_the_fields_and_the_fix():
    config = multiner.Seq2SeqNerConfig(entity_types=["ADR", "Drug"], encoder_config=BART, max_target_length=32)
    own = torch.tensor([config.input_signature()] * 2)
    check_input_signature(config, own, "Seq2SeqNerProcessor")
    check_input_signature(config, None, "Seq2SeqNerProcessor")
    reordered = multiner.Seq2SeqNerConfig(entity_types=["Drug", "ADR"], encoder_config=BART, max_target_length=32)
    other = reordered.input_signature()
    with pytest.raises(ValueError) as error:
        check_input_signature(config, torch.tensor([own[0], other]), "Seq2SeqNerProcessor")
    message = str(error.value)
    assert "another model configuration (entity_types, target_mode or their order" in message
    assert "entity_types=['ADR', 'Drug'], target_mode='all_words'" in message
    assert "Seq2SeqNerProcessor.from_model(model) or Seq2SeqNerProcessor.from_pretrained(model folder)" in message


def test_weighted_bce_is_the_hand_computed_value():
    logits, targets = torch.tensor([0.5, -1.0]), torch.tensor([1.0, 0.0])
    positive, negative = math.log1p(math.exp(-0.5)), math.log1p(math.exp(-1.0))
    assert weighted_bce(logits, targets, 1.0).tolist() == pytest.approx([positive, negative])
    assert weighted_bce(logits, targets, 3.0).tolist() == pytest.approx([3 * positive, negative])
    assert weighted_bce(logits.half(), targets, 3.0).dtype == torch.float32


def test_shifted_windows_along_any_axis():
    values = torch.arange(1, 7).view(2, 3)  # [[1, 2, 3], [4, 5, 6]]
    assert shifted_windows(values, 2).tolist() == [[[1, 2], [2, 3], [3, 0]], [[4, 5], [5, 6], [6, 0]]]
    assert shifted_windows(values, 2, dim=0).tolist() == [[[1, 2, 3], [4, 5, 6]], [[4, 5, 6], [0, 0, 0]]]
    states = torch.randn(2, 4, 3)  # [batch, words, hidden]: the new axis comes after the words, before hidden
    windows = shifted_windows(states, 3)
    assert windows.shape == (2, 4, 3, 3) and torch.equal(windows[:, 1, 2], states[:, 3])
    assert torch.equal(windows[:, 2, 2], torch.zeros(2, 3))
