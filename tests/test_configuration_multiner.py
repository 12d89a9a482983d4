import pytest
from transformers import AutoConfig, BertConfig

from multiner import BERT_MRC, MultiNerConfig

ENCODER = BertConfig(hidden_size=32, num_attention_heads=2, num_hidden_layers=2).to_dict()


def test_defaults_follow_the_paper_and_derive_span_hidden_size():
    config = MultiNerConfig(encoder_config=ENCODER, entity_types=["PER", "LOC"])
    assert config.span_hidden_size == 32
    assert (config.start_loss_weight, config.end_loss_weight, config.span_loss_weight) == (1.0, 1.0, 0.1)
    assert config.span_candidates == "pred_and_gold"
    assert config.type_attention == "full" and not config.share_heads


def test_bert_mrc_is_a_configuration():
    config = MultiNerConfig(encoder_config=ENCODER, entity_types=["PER"], **BERT_MRC)
    assert config.share_heads and config.type_attention == "none"


def test_round_trip_keeps_encoder_config(tmp_path):
    config = MultiNerConfig(encoder_config=ENCODER, entity_types=["A", "B"], type_attention="token", max_span_length=7)
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, MultiNerConfig)
    assert isinstance(loaded.encoder_config, BertConfig)
    assert loaded.encoder_config.hidden_size == 32
    assert loaded.entity_types == ["A", "B"] and loaded.type_attention == "token" and loaded.max_span_length == 7


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("entity_types", "PER", "must be a list of non-empty strings, got 'PER'"),
        ("query_mode", "stacked", "query_mode='stacked' is not allowed"),
        ("entity_types", ["A", "A"], "duplicates"),
        ("entity_types", ["A", ""], "non-empty strings"),
        ("type_attention", "cross", "type_attention='cross' is not allowed"),
        ("span_candidates", "gold", "span_candidates='gold' is not allowed"),
        ("max_span_length", 0, "max_span_length=0 must be a positive integer"),
        ("type_attention_heads", 3, "must divide the encoder's hidden size 32"),
        ("head_dropout", 1.0, r"head_dropout=1.0 must be in \[0, 1\)"),
        ("span_loss_weight", -1.0, "span_loss_weight=-1.0 must be a number >= 0"),
    ],
)
def test_bad_values_name_the_field(field, value, message):
    kwargs = {"encoder_config": ENCODER, "entity_types": ["A", "B"], field: value}
    with pytest.raises(ValueError, match=message):
        MultiNerConfig(**kwargs)


def test_builds_with_defaults_as_transformers_expects():
    """AutoConfig.for_model and transformers' serialisation build a config with no arguments: types start empty."""
    config = AutoConfig.for_model("multiner")
    assert isinstance(config, MultiNerConfig) and config.entity_types == []
    assert config.encoder_config.model_type == "bert" and config.span_hidden_size == config.encoder_config.hidden_size
    assert MultiNerConfig(entity_types=("PER", "LOC")).entity_types == ["PER", "LOC"]
    # the diff against the defaults keeps what was set
    saved = MultiNerConfig(encoder_config=ENCODER, entity_types=["A"], max_span_length=5).to_diff_dict()
    assert saved["entity_types"] == ["A"] and saved["max_span_length"] == 5


def test_input_signature_changes_with_what_the_inputs_depend_on():
    base = MultiNerConfig(encoder_config=ENCODER, entity_types=["A", "B"])
    same = MultiNerConfig(encoder_config=ENCODER, entity_types=["A", "B"], head_dropout=0.3, type_attention="none")
    assert base.input_signature() == same.input_signature()
    others = [
        MultiNerConfig(encoder_config=ENCODER, entity_types=["B", "A"]),
        MultiNerConfig(encoder_config=ENCODER, entity_types=["A", "B", "C"]),
        MultiNerConfig(encoder_config=ENCODER, entity_types=["A", "B"], query_mode="packed"),
        MultiNerConfig(encoder_config=ENCODER, entity_types=["A", "B"], max_span_length=8),
    ]
    signatures = {base.input_signature()} | {config.input_signature() for config in others}
    assert len(signatures) == 5 and all(0 <= value < 2**63 for value in signatures)
