"""Word features beside the uncased encoder's states: casing (`casing_features`: the word-shape classes of the core,
the processors' `casing_ids`, the two families that read them — Multi-NER: learned vectors that start at zero; joint
ER: seeds/003's one-hot vector before the shared BiRNN) and the character-level word embedding (`char_features`:
joint ER per word, Multi-NER per token, projected from zero), through saved models and their pipelines."""

from pathlib import Path

import pytest
import torch
from conftest import (
    RELATIONS,
    joint_model,
    memorise,
    offline_joint_results,
    offline_results,
    processor_for,
    tiny_config,
    train_tiny_joint_model,
)
from transformers import AutoTokenizer, pipeline

import multiner
from multiner.modeling_core import CharBiRnn
from multiner.processing_core import pad_words
from multiner.text_core import Window, tokenize_context
from multiner.word_features import (
    CASING_CLASSES,
    MAX_WORD_CHARS,
    casing_class,
    token_casing,
    token_word_chars,
    window_word_chars,
    word_chars,
)


def names(classes):
    return [CASING_CLASSES[index] for index in classes]


def test_every_token_takes_the_class_of_its_whole_word():
    tokenizer = AutoTokenizer.from_pretrained(multiner.default_encoder_path())
    context = tokenize_context(tokenizer, "Mr McDonald met NASA in 1984 with iPhone3s", 0)
    tokens = tokenizer.convert_ids_to_tokens(context.ids)
    by_token = dict(zip(tokens, names(token_casing(context)), strict=True))
    assert by_token["mr"] == "initial_upper" and by_token["met"] == "lower" and by_token["nasa"] == "upper"
    assert by_token["1984"] == "numeric" and by_token["mcdonald"] == "other"
    # every sub-token of "iPhone3s" has the word's class, not its own piece's
    pieces = [i for i, token in enumerate(tokens) if i >= tokens.index("iphone")]
    assert len(pieces) > 1 and {names(token_casing(context))[i] for i in pieces} == {"contains_digit"}
    # word lists: each word's own class
    words = tokenize_context(tokenizer, ["Paris", "is", "BIG"], 0)
    assert names(token_casing(words)) == ["initial_upper", "lower", "upper"]


def test_a_windows_casing_is_its_slice_of_the_whole_inputs():
    tokenizer = AutoTokenizer.from_pretrained(multiner.default_encoder_path())
    context = tokenize_context(tokenizer, "McDonald's iPhone3s met NASA", 0)
    whole = token_casing(context)
    assert len(whole) == len(context.ids) > 6  # several words of several sub-tokens
    for start in range(len(whole)):
        for stop in range(start + 1, len(whole) + 1):  # also windows that cut a word
            assert token_casing(context, start, stop) == whole[start:stop]


def test_casing_classes_of_edge_words():
    # a lone capital is "upper" (tested before "initial_upper"); accents count as letters
    assert names(casing_class(word) for word in ("", "A", "a1", "1a2", "--", "Élan", "ÉU")) == [
        "other",
        "upper",
        "contains_digit",
        "mainly_numeric",
        "other",
        "initial_upper",
        "upper",
    ]


def test_multiner_features_carry_casing_ids_only_when_the_config_asks(bert_dir):
    off = processor_for(bert_dir, casing_features=False)
    assert "casing_ids" not in off("Ada met Bob.")  # nothing more to build
    assert "casing_ids" in processor_for(bert_dir)("Ada met Bob.")  # new models: on by default
    # a config saved before the field existed (it records a transformers version) loads with the feature off
    saved = tiny_config(bert_dir).to_dict()
    del saved["casing_features"]
    assert multiner.MultiNerConfig.from_dict(saved).casing_features is False
    assert multiner.MultiNerConfig.from_dict({**saved, **multiner.BERT_MRC}).casing_features is False
    on = processor_for(bert_dir, casing_features=True)
    assert "casing_ids" in on.model_input_names
    rows = on.preprocess({"text": ["Ada met BOB.", "x"], "entities": [[], []]})
    assert [len(ids) for ids in rows["casing_ids"]] == [len(mask) for mask in rows["start_mask"]]
    assert names(rows["casing_ids"][0]) == ["initial_upper", "lower", "upper", "other"]
    batch = multiner.MultiNerDataCollator.from_processor(on)([{k: rows[k][i] for k in rows} for i in range(2)])
    assert batch["casing_ids"].tolist()[1] == [3, 0, 0, 0]  # "x" lower, then padding (class 0)


def test_multiner_casing_vectors_start_at_zero_and_are_read_once_learned(bert_dir):
    torch.manual_seed(0)
    model = multiner.MultiNerModel(tiny_config(bert_dir, casing_features=True, max_span_length=4)).eval()
    assert not model.casing_embedding.weight.any()
    baseline = multiner.MultiNerModel(tiny_config(bert_dir, casing_features=False, max_span_length=4)).eval()
    missing, unexpected = baseline.load_state_dict(model.state_dict(), strict=False)
    assert not missing and unexpected == ["casing_embedding.weight"]
    processor = multiner.MultiNerProcessor.from_model(model)
    inputs = processor("Ada met BOB in Paris.")
    with pytest.raises(ValueError, match="casing_ids"):
        model(**{name: value for name, value in inputs.items() if name != "casing_ids"})
    plain = {name: value for name, value in inputs.items() if name != "casing_ids"}
    assert torch.equal(model(**inputs).span_logits, baseline(**plain).span_logits)
    with torch.no_grad():
        model.casing_embedding.weight.normal_()
    assert not torch.allclose(model(**inputs).start_logits, baseline(**plain).start_logits)


def test_each_window_word_gives_its_whole_words_characters():
    tokenizer = AutoTokenizer.from_pretrained(multiner.default_encoder_path())
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    context = tokenize_context(tokenizer, f"Zoë met iPhone3s {long_word}", 0)
    chars = window_word_chars(context, Window(0, 0, len(context.ids), False, False))
    assert len(chars) == 4 == sum(context.word_first)
    assert chars[1] == [1 + ord(c) for c in "met"] and chars[2] == [1 + ord(c) for c in "iPhone3s"]
    assert chars[0][2] == 1 + ord("ë") and len(chars[3]) == MAX_WORD_CHARS  # Latin-1 as is; cut at the limit
    # a window from the third word on: its words only
    third = context.word_first.index(True, context.word_first.index(True, 1) + 1)
    assert window_word_chars(context, Window(0, third, len(context.ids), True, False)) == chars[2:]
    # code points past Latin-1 fold onto the vocabulary, never onto the padding id
    assert 0 not in window_word_chars(tokenize_context(tokenizer, "Ōsaka 東京", 0), Window(0, 0, 3, False, False))[0]
    assert pad_words([[[5, 6], [7]], [[8, 9, 10]]]).tolist() == [[[5, 6, 0], [7, 0, 0]], [[8, 9, 10], [0, 0, 0]]]


def test_char_birnn_reads_each_word_alone_and_pads_with_zeros():
    torch.manual_seed(0)
    rnn = CharBiRnn(25, 25).eval()
    char_ids = torch.tensor(pad_words([[[5, 6, 7], [8]], [[9, 10]]]))
    states = rnn(char_ids, words=3)
    assert states.shape == (2, 3, 50)
    alone = rnn(torch.tensor([[[9, 10]]]), words=1)
    assert torch.allclose(states[1, 0], alone[0, 0], atol=1e-6)  # padding characters change nothing
    assert not states[1, 1:].any() and not states[0, 2].any()  # words without characters: zeros


@pytest.mark.parametrize("features", [{"casing_features": True}, {"casing_features": True, "char_features": True}])
def test_joint_model_joins_seeds_003_word_features_and_saves_them(bert_dir, tmp_path, features):
    model = joint_model(bert_dir, **features, rnn_hidden_size=16, ner_hidden_size=16, re_hidden_size=16)
    extra = len(CASING_CLASSES) + (50 if features.get("char_features") else 0)
    assert model.shared.layers[0].input_size == model.config.hidden_size + extra
    processor = multiner.JointErProcessor.from_model(model)
    inputs = processor("Ada Lovelace works for IBM.")
    assert inputs["casing_ids"].shape == inputs["input_ids"].shape
    assert inputs["casing_ids"][0, 0] == 0 and inputs["casing_ids"][0, -1] == 0  # special tokens: padding class
    required = ["casing_ids"] + (["char_ids"] if features.get("char_features") else [])
    assert [name for name in required if name in inputs] == required
    for name in required:
        with pytest.raises(ValueError, match=name):
            model(**{key: value for key, value in inputs.items() if key != name})
    folder = train_tiny_joint_model(bert_dir, tmp_path / "model", steps=150, **features)
    extract = pipeline("joint-er", model=folder)
    assert extract.model.config.casing_features
    card = (Path(folder) / "README.md").read_text()
    assert "a casing vector" in card and ("a character BiLSTM vector" in card) == bool(features.get("char_features"))
    found = extract([example["text"] for example in RELATIONS])
    gold = [{(e["start"], e["end"], e["label"]) for e in example["entities"]} for example in RELATIONS]
    assert [{(e["start"], e["end"], e["entity_group"]) for e in result["entities"]} for result in found] == gold
    if features.get("char_features"):  # the Hub folder's own code, without the package, finds the same
        texts = [example["text"] for example in RELATIONS]
        loaded = offline_joint_results(folder, texts, tmp_path)
        assert [sorted(label for label, _ in entities) for entities, _ in loaded] == [
            sorted(e["entity_group"] for e in result["entities"]) for result in found
        ]
        assert [len(relations) for _, relations in loaded] == [len(result["relations"]) for result in found]


def test_a_tokens_characters_are_its_whole_words_in_every_window():
    tokenizer = AutoTokenizer.from_pretrained(multiner.default_encoder_path())
    context = tokenize_context(tokenizer, "McDonald's iPhone3s met NASA", 0)
    whole = token_word_chars(context)
    tokens = tokenizer.convert_ids_to_tokens(context.ids)
    assert len(whole) == len(tokens) and whole[tokens.index("iphone")] == word_chars("iPhone3s") == whole[-3]
    assert whole[-1] == [1 + ord(c) for c in "NASA"]  # the original case, which the uncased encoder never sees
    for start in range(len(whole)):
        for stop in range(start + 1, len(whole) + 1):  # also windows that cut a word
            assert token_word_chars(context, start, stop) == whole[start:stop]


def test_multiner_char_features_start_as_the_model_without_them(bert_dir):
    torch.manual_seed(0)
    with_chars = multiner.MultiNerModel.from_encoder(
        bert_dir, entity_types=["PER", "LOC"], query_mode="packed", char_features=True, max_span_length=4
    ).eval()
    assert with_chars.char_rnn.output_size == 50 and not with_chars.char_projection.weight.any()
    plain_config = multiner.MultiNerConfig(**{**with_chars.config.to_dict(), "char_features": False})
    without = multiner.MultiNerModel(plain_config)
    without.load_state_dict({k: v for k, v in with_chars.state_dict().items() if not k.startswith("char_")})
    processor = multiner.MultiNerProcessor.from_model(with_chars)
    inputs = processor(["Ada Lovelace lived in London.", "Bob met NASA's iPhone3s team"])
    assert inputs["char_ids"].shape[:2] == inputs["start_mask"].shape and inputs["char_ids"].shape[2] == 8
    with pytest.raises(ValueError, match="char_ids"):
        with_chars(**{key: value for key, value in inputs.items() if key != "char_ids"})
    with torch.no_grad():
        featured = with_chars(**inputs)
        plain = without.eval()(**{key: value for key, value in inputs.items() if key != "char_ids"})
    for name in ("start_logits", "end_logits", "span_logits"):
        assert torch.equal(getattr(featured, name), getattr(plain, name)), name


@pytest.mark.parametrize("features", [{"casing_features": True}, {"casing_features": True, "char_features": True}])
def test_multiner_pipeline_of_a_word_features_model_round_trips(bert_dir, tmp_path, features):
    torch.manual_seed(0)
    model = multiner.MultiNerModel.from_encoder(
        bert_dir, entity_types=["PER", "LOC", "ORG"], max_span_length=8, head_dropout=0.0, **features
    )
    processor = multiner.MultiNerProcessor.from_model(model)
    examples = [
        {"text": "Ada Lovelace lived in London.", "entities": [{"start": 0, "end": 12, "label": "PER"}]},
        {"text": "Bob went to Paris.", "entities": [{"start": 0, "end": 3, "label": "PER"}]},
    ]
    folder = memorise(model, processor, multiner.MultiNerDataCollator, "multi-ner", examples, 120, tmp_path)
    ner = pipeline("multi-ner", model=folder)
    assert ner.model.config.casing_features and ner.model.casing_embedding.weight.any()
    texts = [example["text"] for example in examples]
    found = [[(e["start"], e["end"], e["entity_group"]) for e in result] for result in ner(texts)]
    assert found == [[(0, 12, "PER")], [(0, 3, "PER")]]
    if features.get("char_features"):  # learned, and the Hub folder's own code, without the package, finds the same
        assert ner.model.char_projection.weight.any()
        summary = '[[[e["start"], e["end"], e["entity_group"]] for e in f] for f in found]'
        assert offline_results(folder, texts, tmp_path, summary) == [[list(e) for e in f] for f in found]


def test_joint_configs_have_word_features_by_default_and_old_ones_load_without():
    """New joint configs switch both of seeds/003's word features and the relation scorer's pair context on, with
    the start/end/span entity head; a saved config from before the switches existed (it records a transformers
    version, not the switches) loads with them off, the form it was trained in."""
    from transformers import AutoConfig

    encoder = AutoConfig.from_pretrained(multiner.default_encoder_path()).to_dict()
    fields = {"encoder_config": encoder, "entity_types": ["Peop"], "relation_types": ["Kill"]}
    new = multiner.JointErConfig(**fields)
    switches = ("casing_features", "char_features", "relation_context")
    assert all(getattr(new, switch) for switch in switches) and new.ner_head == "start_end_span"
    saved = {key: value for key, value in new.to_dict().items() if key not in switches}
    old = multiner.JointErConfig.from_dict({**saved, "transformers_version": "5.23.0"})
    assert not any(getattr(old, switch) for switch in switches)
    assert multiner.JointErConfig(**fields, casing_features=False).char_features  # one switch at a time
