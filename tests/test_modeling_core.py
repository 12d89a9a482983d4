"""What the three families' models share, tested once: the input signature and its check, the weighted binary
cross-entropy, window shifting, the span heads' head sets, the bidirectional RNN over padded rows."""

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from conftest import tiny_bart_config
from transformers import AutoModel, pipeline

import multiner
from multiner.modeling_core import (
    CharBiRnn,
    SpanHeads,
    bidirectional_rnn,
    check_input_signature,
    shifted_windows,
    signature_digest,
    weighted_bce,
)

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
    assert "entity_types=['ADR', 'Drug'], target_mode='fragment_bounds'" in message
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


def test_span_heads_read_each_types_head_set_whatever_the_order():
    """Types may use the head sets in any order, share one, or use each once in order (`head_index=None`, read
    without copying the weights): the logits are each type's own head set's, so a permuted `head_index` permutes the
    type axis, and None is the same as `0..types-1`."""
    torch.manual_seed(0)
    heads = SpanHeads(3, 8, 6, max_span_length=3)
    heads.initialize(0.5)
    heads.eval()
    hidden = torch.randn(2, 3, 5, 8)  # [batch, types, context, hidden]
    in_order, permuted, shared = torch.arange(3), torch.tensor([2, 0, 1]), torch.zeros(3, dtype=torch.long)
    outputs = {}
    for name, index in {"in order": in_order, "every set": None, "permuted": permuted, "shared": shared}.items():
        # the same states for every type, so that each type's logits are those of its head set alone
        same = hidden[:, :1].expand(-1, 3, -1, -1)
        outputs[name] = (*heads.boundaries(same, index), heads.spans(same, index))
    for ordered, every_set in zip(outputs["in order"], outputs["every set"]):
        assert torch.equal(every_set, ordered)
    for ordered, moved in zip(outputs["in order"], outputs["permuted"]):
        assert torch.allclose(moved, ordered[..., permuted], atol=1e-6)
    for ordered, one_set in zip(outputs["in order"], outputs["shared"]):
        assert torch.allclose(one_set, ordered[..., [0, 0, 0]], atol=1e-6)
        assert not torch.allclose(one_set, ordered, atol=1e-3)


FAMILY_CONFIGS = {
    "multi-ner": (multiner.MultiNerConfig, {"entity_types": ["PER"]}, "max_span_lenght", "max_span_length"),
    "joint-er": (
        multiner.JointErConfig,
        {"entity_types": ["PER"], "relation_types": ["Work_For"]},
        "relation_thresold",
        "relation_threshold",
    ),
    "seq2seq": (
        multiner.Seq2SeqNerConfig,
        {"entity_types": ["PER"], "encoder_config": BART, "max_target_length": 32},
        "target_mod",
        "target_mode",
    ),
}


@pytest.mark.parametrize("family", list(FAMILY_CONFIGS))
def test_every_config_refuses_a_string_for_a_list_of_names(family):
    config_class, fields, _, _ = FAMILY_CONFIGS[family]
    with pytest.raises(ValueError, match=r"entity_types must be a list of non-empty strings, got 'ADR': one name is"):
        config_class(**{**fields, "entity_types": "ADR"})
    with pytest.raises(ValueError, match=r"entity_types has duplicates: \['A', 'A'\]"):
        config_class(**{**fields, "entity_types": ("A", "A")})
    assert config_class(**{**fields, "entity_types": ("B", "A")}).entity_types == ["B", "A"]
    if family == "joint-er":
        with pytest.raises(ValueError, match=r"JointErConfig.relation_types must be a list .*got 'Work_For'"):
            config_class(**{**fields, "relation_types": "Work_For"})


OUT_OF_RANGE = {
    "multi-ner": [
        ("query_mode", "stacked", r"MultiNerConfig.query_mode='stacked' is not allowed; use one of \('per_type', "),
        ("max_span_length", True, r"MultiNerConfig.max_span_length=True must be a positive integer\."),
        ("head_dropout", 1.0, r"MultiNerConfig.head_dropout=1.0 must be in \[0, 1\)\."),
        ("span_loss_weight", "1", r"MultiNerConfig.span_loss_weight='1' must be a number >= 0\."),
    ],
    "joint-er": [
        ("rnn_type", "gru2", r"JointErConfig.rnn_type='gru2' is not allowed; use one of \("),
        ("num_ner_layers", -1, r"JointErConfig.num_ner_layers=-1 must be a non-negative integer\."),
        ("char_hidden_size", 0, r"JointErConfig.char_hidden_size=0 must be a positive integer\."),
        ("relation_threshold", -0.1, r"JointErConfig.relation_threshold=-0.1 must be in \[0, 1\)\."),
        ("relation_loss_weight", -1, r"JointErConfig.relation_loss_weight=-1 must be a number >= 0\."),
    ],
    "seq2seq": [
        ("target_mode", "words", r"Seq2SeqNerConfig.target_mode='words' is not allowed; use one of \("),
        ("relation_size", 2.5, r"Seq2SeqNerConfig.relation_size=2.5 must be a positive integer\."),
        ("pointer_dropout", None, r"Seq2SeqNerConfig.pointer_dropout=None must be in \[0, 1\)\."),
        ("focal_tau", -2.0, r"Seq2SeqNerConfig.focal_tau=-2.0 must be a number >= 0\."),
    ],
}


@pytest.mark.parametrize("family", list(FAMILY_CONFIGS))
def test_every_config_refuses_a_value_out_of_range_naming_field_value_and_rule(family):
    config_class, fields, _, _ = FAMILY_CONFIGS[family]
    for field_name, value, message in OUT_OF_RANGE[family]:
        with pytest.raises(ValueError, match=message):
            config_class(**{**fields, field_name: value})
    assert config_class(**fields).entity_types  # the fixtures' own values pass


@pytest.mark.parametrize("family", list(FAMILY_CONFIGS))
def test_every_config_refuses_a_misspelled_field_and_names_the_right_one(family):
    config_class, fields, misspelled, meant = FAMILY_CONFIGS[family]
    message = rf"{config_class.__name__} got an unknown field '{misspelled}'\. Did you mean '{meant}'\? Its own "
    with pytest.raises(TypeError, match=message + "fields are encoder_config, "):
        config_class(**fields, **{misspelled: 4})
    config = config_class(**fields, auto_map={"AutoModel": "modeling.Model"}, custom_pipelines={})  # what folders hold
    assert config.auto_map == {"AutoModel": "modeling.Model"}


def test_from_encoder_passes_the_misspelling_check_on(bert_dir):
    with pytest.raises(TypeError, match="unknown field 'max_span_lenght'. Did you mean 'max_span_length'"):
        multiner.MultiNerModel.from_encoder(bert_dir, entity_types=["PER"], max_span_lenght=4)


FAMILY_FOLDERS = {
    "multi-ner": ("packed_dir", multiner.MultiNerModel, multiner.MultiNerProcessor, "multiner"),
    "joint-er": ("joint_er_dir", multiner.JointErModel, multiner.JointErProcessor, "multiner-joint-er"),
    "seq2seq-ner": ("seq2seq_dir", multiner.Seq2SeqNerModel, multiner.Seq2SeqNerProcessor, "multiner-seq2seq"),
}


@pytest.mark.parametrize("family", list(FAMILY_FOLDERS))
def test_a_folder_of_another_family_is_named_as_such(request, family):
    """Each family's model, processor and pipeline on each other family's folder: an error that says what the folder
    holds and how to load it (no AttributeError from deep inside, no model loaded with random heads)."""
    _, model_class, processor_class, model_type = FAMILY_FOLDERS[family]
    for task, (fixture, *_, other_type) in FAMILY_FOLDERS.items():
        if task == family:
            continue
        folder = request.getfixturevalue(fixture)
        message = rf"This config is of a '{other_type}' model, not '{model_type}' .*AutoModel\.from_pretrained\("
        for load in (model_class.from_pretrained, processor_class.from_pretrained):
            with pytest.raises(ValueError, match=message):
                load(folder)
        with pytest.raises(ValueError, match=rf"Pipeline runs the models that {processor_class.__name__} serves"):
            pipeline(family, model=folder)


@pytest.mark.parametrize("family", list(FAMILY_FOLDERS))
def test_broken_weights_and_a_config_that_disagrees_with_them_name_the_file_or_field(request, family, tmp_path):
    fixture, model_class, _, _ = FAMILY_FOLDERS[family]
    folder = Path(request.getfixturevalue(fixture))
    truncated = tmp_path / "truncated"
    shutil.copytree(folder, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    for load in (model_class.from_pretrained, AutoModel.from_pretrained):
        with pytest.raises(OSError, match=r"truncated\b.*\.safetensors file\) cannot be read: .* download or save"):
            load(str(truncated))
    grown = tmp_path / "grown"
    shutil.copytree(folder, grown)
    config = json.loads((grown / "config.json").read_text())
    config["entity_types"].append("EXTRA")
    (grown / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"do not fit its config\.json \(entity_types=\[.*'EXTRA'\].*Restore config"):
        model_class.from_pretrained(str(grown))


@pytest.mark.parametrize("family", list(FAMILY_FOLDERS))
def test_a_folder_without_config_json_is_named_as_incomplete(request, family, tmp_path):
    fixture, model_class, processor_class, _ = FAMILY_FOLDERS[family]
    folder = tmp_path / "no-config"
    shutil.copytree(request.getfixturevalue(fixture), folder)
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"no-config has no config\.json, which holds the model's settings"):
        model_class.from_pretrained(str(folder))
    with pytest.raises(FileNotFoundError, match=r"not a complete model folder for \w+Processor: missing config\.json"):
        processor_class.from_pretrained(str(folder))


@pytest.mark.parametrize("family", list(FAMILY_FOLDERS))
def test_a_tokenizer_larger_than_the_encoder_vocabulary_is_refused_naming_both_files(request, family, tmp_path):
    fixture, model_class, processor_class, _ = FAMILY_FOLDERS[family]
    model = model_class.from_pretrained(request.getfixturevalue(fixture))
    processor = processor_class.from_pretrained(request.getfixturevalue(fixture))
    tokenizer = processor.tokenizer
    rows = model.config.encoder_config.vocab_size
    assert len(tokenizer) <= rows  # the saved pair fits
    tokenizer.add_tokens([f"newword{number}" for number in range(rows - len(tokenizer) + 3)])
    message = rf"the tokenizer \(tokenizer\.json\) has {rows + 3} tokens but the model's encoder embeds {rows} "
    with pytest.raises(ValueError, match=message + r"\(config\.json: encoder_config\.vocab_size\).*saved with"):
        processor_class.from_model(model, tokenizer=tokenizer)
    folder = tmp_path / "other-tokenizer"
    shutil.copytree(request.getfixturevalue(fixture), folder)
    tokenizer.save_pretrained(folder)  # another model's tokenizer in the folder
    with pytest.raises(ValueError, match=message):
        pipeline(family, model=str(folder))


def packed_reference(rnn: torch.nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor) -> tuple:
    """PyTorch's own packed-sequence run: outputs `[batch, steps, 2 · hidden]` (zeros past each row) and h_n."""
    packed = torch.nn.utils.rnn.pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    outputs, last = rnn(packed)
    outputs = torch.nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])[0]
    return outputs, last[0] if isinstance(last, tuple) else last


@pytest.mark.parametrize("kind", [torch.nn.LSTM, torch.nn.GRU])
def test_bidirectional_rnn_is_the_packed_sequence_run_forward_and_backward(kind):
    torch.manual_seed(0)
    rnn = kind(5, 4, batch_first=True, bidirectional=True)
    lengths = torch.tensor([3, 7, 1, 5])
    inputs = torch.randn(4, 7, 5)
    inputs[torch.arange(7)[None, :] >= lengths[:, None]] = 100.0  # padding must change nothing
    runs = {}
    for name, run in (
        ("padded", lambda x: bidirectional_rnn(rnn, x, lengths)),
        ("packed", lambda x: packed_reference(rnn, x, lengths)[0]),
    ):
        rnn.zero_grad()
        leaf = inputs.clone().requires_grad_()
        outputs = run(leaf)
        (outputs * torch.linspace(-1, 1, outputs.numel()).view_as(outputs)).sum().backward()
        runs[name] = (outputs.detach(), leaf.grad, [p.grad.clone() for p in rnn.parameters()])
    (outputs, input_grad, grads), (expected, expected_input_grad, expected_grads) = runs["padded"], runs["packed"]
    assert torch.allclose(outputs, expected, atol=1e-5)
    assert not outputs[2, 1:].any()  # zeros past a row's end
    assert torch.allclose(input_grad, expected_input_grad, atol=1e-5)
    assert not input_grad[0, 3:].any()  # no gradient reaches padding
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        assert torch.allclose(grad, expected_grad, atol=1e-5)
    with pytest.raises(ValueError, match="one bidirectional"):
        bidirectional_rnn(kind(5, 4, batch_first=True), inputs, lengths)


def test_char_birnn_word_is_the_last_state_of_each_direction():
    torch.manual_seed(0)
    rnn = CharBiRnn(6, 3).eval()
    char_ids = torch.tensor([[[5, 6, 7, 0], [8, 0, 0, 0]], [[9, 10, 11, 12], [0, 0, 0, 0]]])
    states = rnn(char_ids, words=2)
    real = char_ids.view(4, 4)[[0, 1, 2]]
    _, last = packed_reference(rnn.rnn, rnn.embedding(real), (real > 0).sum(dim=1))  # h_n: [2 directions, words, 3]
    assert torch.allclose(states.view(4, 6)[[0, 1, 2]], torch.cat([last[0], last[1]], dim=-1), atol=1e-6)
    assert not states[1, 1].any()
