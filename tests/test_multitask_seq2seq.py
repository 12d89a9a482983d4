"""seeds/001's three switches of the seq2seq family: relation prediction (pair labels, conditional layer norm, focal
loss), token-relation attention and entity-type attention (extra keys and values), the entity base from data and
from a gazetteer file; each switch off is the baseline's computation; all on, a saved model reloads and generates
the same output, with and without the package."""

import json
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import (
    DISCONTINUOUS,
    SEQ2SEQ_TINY_BERT,
    SEQ2SEQ_TYPES,
    offline_fragments,
    seq2seq_inputs,
    tiny_bart_config,
    train_tiny_seq2seq_model,
)
from transformers import BertConfig, T5Config, pipeline
from transformers.integrations.sdpa_attention import sdpa_attention_forward

import multiner
from multiner.multitask_seq2seq import AttentionMemory, attention_with_memory, focal_loss
from multiner.readers import entity_base_of, read_gazetteer
from multiner.targets_seq2seq import pair_relations
from multiner.training_core import head_optimizer

TINY_BERT = SEQ2SEQ_TINY_BERT
ALL_ON = {"relation_prediction": True, "token_relation_attention": True, "entity_type_attention": True}


def tiny_model(**fields):
    torch.manual_seed(0)
    config = multiner.Seq2SeqNerConfig.warm_started(
        BertConfig(**TINY_BERT), entity_types=["A", "B"], relation_size=16, type_attention_size=8, **fields
    )
    return multiner.Seq2SeqNerModel(config).eval()


inputs = seq2seq_inputs


LABELS = torch.tensor([[4, 5, 2, 0], [5, 3, 0, -100]])  # words 0-1 are an A; word 1 a B; then end
RELATION_LABELS = torch.tensor(
    [[[0, 1, 0], [0, 0, 0], [0, 0, 0]], [[0, 0, -100], [0, 1, -100], [-100, -100, -100]]]
)  # (0, 1) Begin-End in row 0; (1, 1) Begin-End in row 1; padding word -100


# ------------------------------------------------------------------------------------------------ relation labels


def test_focal_loss_is_the_hand_computed_value():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0]])
    labels = torch.tensor([0, 2, -100])
    p0 = math.exp(2) / (math.exp(2) + 2)
    p1 = 1 / (math.e + 2)
    expected = (-5 * (1 - p0) * math.log(p0) - 5 * (1 - p1) * math.log(p1)) / 2
    assert focal_loss(logits, labels, alpha=5.0, tau=1.0).item() == pytest.approx(expected, rel=1e-6)
    # alpha 1, tau 0: cross-entropy
    assert focal_loss(logits, labels, 1.0, 0.0).item() == pytest.approx(
        F.cross_entropy(logits[:2], labels[:2]).item(), rel=1e-6
    )
    assert focal_loss(logits, torch.full((3,), -100), 5.0, 1.0).item() == 0.0


def test_pair_labels_follow_the_paper():
    # "I had aching in the legs and shoulders": "aching in shoulders" = words 2, 3 and 7
    assert pair_relations([(((2, 3), (7, 7)), 0)]) == [[2, 3, 2], [2, 7, 1], [3, 7, 2]]
    assert pair_relations([(((5, 5),), 1)]) == [[5, 5, 1]]
    # nested: the inner entity's Begin-End (0, 1) wins over the outer one's Inside
    assert pair_relations([(((0, 2),), 0), (((0, 1),), 1)]) == [[0, 1, 1], [0, 2, 1], [1, 2, 2]]
    assert pair_relations([]) == []


def test_processor_and_collator_write_the_pair_grid(bert_dir):
    model = multiner.Seq2SeqNerModel.from_encoder(bert_dir, entity_types=SEQ2SEQ_TYPES, relation_prediction=True)
    processor = multiner.Seq2SeqNerProcessor.from_model(model)
    example = DISCONTINUOUS[0]  # I had aching in the legs and shoulders after aspirin .
    rows = processor.preprocess({"text": [example["text"]], "entities": [example["entities"]]})
    # aching in shoulders (2, 3, 7); aching in the legs (2..5); aspirin (9)
    assert rows["relation_labels"][0] == [[2, 3, 2], [2, 5, 1], [2, 7, 1], [3, 4, 2], [3, 7, 2], [4, 5, 2], [9, 9, 1]]
    empty = processor.preprocess({"text": ["No problems."], "entities": [[]]})
    batch = multiner.Seq2SeqNerDataCollator.from_processor(processor)(
        [{name: rows[name][0] for name in rows}, {name: empty[name][0] for name in empty}]
    )
    grid = batch["relation_labels"]
    assert grid.shape == (2, 11, 11)
    assert grid[0, 2, 7] == 1 and grid[0, 3, 7] == 2 and grid[0, 7, 2] == 0 and grid[0, 0, 0] == 0
    assert (grid[1, :3, :3] == 0).all() and (grid[1, 3:] == -100).all() and (grid[1, :, 3:] == -100).all()
    # without relation prediction the processor writes no pair labels
    plain = multiner.Seq2SeqNerProcessor.from_model(multiner.Seq2SeqNerModel.from_encoder(bert_dir, ["ADR", "Drug"]))
    assert "relation_labels" not in plain.preprocess({"text": [example["text"]], "entities": [example["entities"]]})


# --------------------------------------------------------------------------------------------------- the switches


def test_conditional_layer_norm_grid_is_gain_and_bias_of_the_row_word():
    model = tiny_model(relation_prediction=True)
    grid = model.relation_grid
    states = torch.randn(2, 3, 32)
    reduced = grid.reduce(states)
    pairs = grid.pairs(reduced)
    assert pairs.shape == (2, 3, 3, 16)
    h_i, h_j = reduced[1, 2], reduced[1, 0]
    normed = (h_j - h_j.mean()) / torch.sqrt(h_j.var(unbiased=False) + 1e-12)
    expected = (1 + grid.pairs.gain(h_i)) * normed + grid.pairs.bias(h_i)
    assert torch.allclose(pairs[1, 2, 0], expected, atol=1e-5)


def test_relation_prediction_adds_its_weighted_loss_and_changes_nothing_else():
    baseline = tiny_model()
    model = tiny_model(relation_prediction=True, relation_loss_weight=0.5)
    missing, unexpected = model.load_state_dict(baseline.state_dict(), strict=False)
    assert not unexpected and all(name.startswith("relation_grid.") for name in missing)
    expected = baseline(**inputs(), labels=LABELS)
    output = model(**inputs(), labels=LABELS, relation_labels=RELATION_LABELS)
    assert torch.equal(output.logits, expected.logits)
    assert torch.equal(output.entity_loss, expected.loss)
    assert output.relation_loss > 0
    assert torch.allclose(output.loss, expected.loss + 0.5 * output.relation_loss)
    relation_logits = model.encode(**inputs(), relation_logits=True).relation_logits
    assert relation_logits.shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match="relation_labels"):
        model(**inputs(), labels=LABELS)
    # generation needs no pair labels
    assert torch.equal(model.generate(**inputs(), max_new_tokens=6), baseline.generate(**inputs(), max_new_tokens=6))


def test_relation_prediction_at_weight_0_trains_the_baseline_exactly():
    """At `relation_loss_weight=0` every shared weight gets the Baseline's gradient (the grid gets none): such a run
    differs from the Baseline only by the random numbers the grid's initialisation and dropout draw."""
    model = tiny_model(relation_prediction=True, relation_loss_weight=0.0)
    baseline = baseline_with_weights_of(model)
    baseline(**inputs(), labels=LABELS).loss.backward()
    model(**inputs(), labels=LABELS, relation_labels=RELATION_LABELS).loss.backward()
    shared = dict(baseline.named_parameters())
    for name, parameter in model.named_parameters():
        if name.startswith("relation_grid."):
            assert parameter.grad is None or not parameter.grad.any(), name
        elif shared[name].grad is None:
            assert parameter.grad is None, name
        else:
            assert torch.equal(parameter.grad, shared[name].grad), name
    assert any(parameter.grad is not None for parameter in baseline.parameters())


def open_gates(model, value=1.0):
    with torch.no_grad():
        model.addition_gates.fill_(value)
    return model


def baseline_with_weights_of(model):
    """The baseline (no switch on) with `model`'s weights where they have the same names."""
    baseline = tiny_model()
    missing, unexpected = baseline.load_state_dict(model.state_dict(), strict=False)
    assert not missing
    assert all(name.split(".")[0] in ("relation_grid", "type_attention", "addition_gates") for name in unexpected)
    return baseline


@pytest.mark.parametrize(
    "fields",
    [{"token_relation_attention": True}, {"entity_type_attention": True}, ALL_ON],
    ids=["tra", "eta", "all_on"],
)
def test_gated_additions_compute_exactly_the_baseline_at_initialisation(fields):
    model = tiny_model(**fields)
    assert model.addition_gates.shape == (6, 2) and not model.addition_gates.any()  # 4 self + 2 cross layers
    baseline = baseline_with_weights_of(model)
    decoder_input_ids = torch.tensor([[1, 4, 5], [1, 5, 3]])
    logits = model(**inputs(), decoder_input_ids=decoder_input_ids).logits
    assert torch.equal(logits, baseline(**inputs(), decoder_input_ids=decoder_input_ids).logits)
    assert torch.equal(model.generate(**inputs(), num_beams=2), baseline.generate(**inputs(), num_beams=2))
    # the gates learn: their gradient is not zero at 0 (the additions' own weights get theirs once a gate opens)
    model.train()
    labels = {"labels": LABELS}
    if model.config.relation_prediction:
        labels["relation_labels"] = RELATION_LABELS
    model(**inputs(), **labels).loss.backward()
    assert model.addition_gates.grad.abs().sum() > 0
    # open, they change the logits
    open_gates(model.eval())
    assert not torch.allclose(model(**inputs(), decoder_input_ids=decoder_input_ids).logits, logits)


def test_closing_a_trained_models_gates_gives_the_baseline_with_its_weights():
    """`benchmarks/seq2seq_speed.py --close_gates`: a model whose gates opened computes the Baseline's logits with its
    own weights once they are closed; a model without gates is refused with what to do."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from seq2seq_speed import close_gates

    model = open_gates(tiny_model(**ALL_ON), 0.5)
    baseline = baseline_with_weights_of(model)
    decoder_input_ids = torch.tensor([[1, 4, 5], [1, 5, 3]])
    expected = baseline(**inputs(), decoder_input_ids=decoder_input_ids).logits
    assert not torch.allclose(model(**inputs(), decoder_input_ids=decoder_input_ids).logits, expected)
    close_gates(model)
    assert torch.equal(model(**inputs(), decoder_input_ids=decoder_input_ids).logits, expected)
    with pytest.raises(ValueError, match="has no addition gates to close.*Leave out --close_gates"):
        close_gates(tiny_model(relation_prediction=True))


def test_gated_additions_are_saved_and_a_model_saved_before_them_keeps_its_form(tmp_path):
    model = open_gates(tiny_model(**ALL_ON), 0.5)
    model.save_pretrained(tmp_path / "open")
    assert torch.equal(
        multiner.Seq2SeqNerModel.from_pretrained(tmp_path / "open").addition_gates, model.addition_gates
    )
    ungated = tiny_model(**ALL_ON, gated_additions=False)
    assert ungated.addition_gates is None
    # a model saved before the gates existed keeps the form it was trained in
    ungated.save_pretrained(tmp_path / "old")
    saved = json.loads((tmp_path / "old" / "config.json").read_text())
    del saved["gated_additions"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(saved))
    old = multiner.Seq2SeqNerModel.from_pretrained(tmp_path / "old")
    assert old.config.gated_additions is False and old.addition_gates is None
    assert multiner.Seq2SeqNerConfig.warm_started(BertConfig(**TINY_BERT), entity_types=["A"]).gated_additions


def test_gates_get_their_own_learning_rate_and_no_weight_decay():
    model = tiny_model(**ALL_ON)
    optimizer = head_optimizer(model, 1e-5, 1e-4, weight_decay=0.01, gate_learning_rate=1e-2)
    group = next(group for group in optimizer.param_groups if any(p is model.addition_gates for p in group["params"]))
    assert group["params"] == [model.addition_gates] and (group["lr"], group["weight_decay"]) == (1e-2, 0.0)
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(list(model.parameters()))
    default = head_optimizer(model, 1e-5, 1e-4, weight_decay=0.01)  # without a gate rate: the new parts' rate
    group = next(group for group in default.param_groups if any(p is model.addition_gates for p in group["params"]))
    assert (group["lr"], group["weight_decay"]) == (1e-4, 0.0)
    with pytest.raises(ValueError, match="gate_learning_rate"):
        head_optimizer(model, 1e-5, 1e-4, gate_learning_rate=0.0)


def test_token_relation_attention_reads_one_vector_per_real_word():
    decoder_input_ids = torch.tensor([[1, 4], [1, 5]])
    for gated in (True, False):
        model = tiny_model(token_relation_attention=True, gated_additions=gated)
        if gated:
            open_gates(model)
        encoded = model.encode(**inputs())
        assert encoded.relation_memory.shape == (2, 3, 32) and encoded.relation_logits is None
        logits = model(**inputs(), encoder_outputs=encoded, decoder_input_ids=decoder_input_ids).logits
        # a padding word's relation vector is masked out; a real word's is read
        changed = encoded.relation_memory.clone()
        changed[1, 2] += 100.0
        encoded["relation_memory"] = changed
        assert torch.allclose(
            model(encoder_outputs=encoded, decoder_input_ids=decoder_input_ids, **inputs()).logits, logits
        )
        changed = changed.clone()
        changed[1, 0] += 100.0
        encoded["relation_memory"] = changed
        other = model(encoder_outputs=encoded, decoder_input_ids=decoder_input_ids, **inputs()).logits
        assert not torch.allclose(other[1], logits[1]) and torch.allclose(other[0], logits[0])
        # without the relation vectors the decoder computes the baseline's logits with the same weights
        encoded["relation_memory"] = None
        baseline = baseline_with_weights_of(model)
        assert torch.allclose(
            model(encoder_outputs=encoded, decoder_input_ids=decoder_input_ids, **inputs()).logits,
            baseline(**inputs(), decoder_input_ids=decoder_input_ids).logits,
            atol=1e-6,
        )


def causal_self_attention_layer():
    config = BertConfig(**TINY_BERT, is_decoder=True)
    model = multiner.Seq2SeqNerModel(
        multiner.Seq2SeqNerConfig.warm_started(config, entity_types=["A"], entity_type_attention=True)
    )
    assert model.decoder.encoder.layer[0].attention.self.multiner_layer == 2  # after the encoder's two
    return model.decoder.encoder.layer[0].attention.self


def test_type_attention_is_softmax_over_type_keys_and_the_layers_own():
    torch.manual_seed(0)
    layer = causal_self_attention_layer().eval()
    assert layer.multiner_attention_role == "self" and layer.is_causal
    batch, heads, steps, size = 2, 2, 4, 16
    query, key, value = (torch.randn(batch, heads, steps, size) for _ in range(3))
    memory = torch.randn(1, 3, 32)
    mask = torch.ones(batch, 1, steps, steps, dtype=torch.bool).tril()
    mask[1, :, :, 0] = False  # a padded first step in row 1
    mask[1, :, 0, 0] = True
    joint = AttentionMemory(type_vectors=memory)  # seeds/001's form: one softmax
    output, _ = attention_with_memory(layer, query, key, value, mask, multiner_memory=joint, scaling=size**-0.5)
    extra_keys = layer.key(memory).view(1, 3, heads, size).transpose(1, 2).expand(batch, -1, -1, -1)
    extra_values = layer.value(memory).view(1, 3, heads, size).transpose(1, 2).expand(batch, -1, -1, -1)
    scores = torch.cat([extra_keys, key], 2) @ query.transpose(2, 3) * size**-0.5  # [b, h, keys, queries]
    full_mask = torch.cat([torch.ones(batch, 1, steps, 3, dtype=torch.bool), mask], -1)
    scores = scores.transpose(2, 3).masked_fill(~full_mask, float("-inf"))
    expected = (scores.softmax(-1) @ torch.cat([extra_values, value], 2)).transpose(1, 2)
    assert torch.allclose(output, expected, atol=1e-5)
    # the implicit causal mask (None) is made explicit: same result as the explicit one
    causal, _ = attention_with_memory(layer, query, key, value, None, multiner_memory=joint, scaling=size**-0.5)
    explicit, _ = attention_with_memory(
        layer, query, key, value, torch.ones(1, 1, steps, steps, dtype=torch.bool).tril(), multiner_memory=joint
    )
    assert torch.allclose(causal, explicit, atol=1e-6)
    # gated: the layer's own attention plus tanh(gate) times a softmax over the type keys alone
    plain, _ = sdpa_attention_forward(layer, query, key, value, mask)
    gates = torch.zeros(6, 2)
    gates[2, 0] = 0.7  # this layer's type gate
    gated = AttentionMemory(type_vectors=memory, gates=gates)
    output, _ = attention_with_memory(layer, query, key, value, mask, multiner_memory=gated, scaling=size**-0.5)
    read = (query @ extra_keys.transpose(2, 3) * size**-0.5).softmax(-1) @ extra_values
    assert torch.allclose(output, plain + math.tanh(0.7) * read.transpose(1, 2), atol=1e-5)
    # without memory, or without a memory for the layer's role, it is sdpa unchanged
    assert torch.equal(attention_with_memory(layer, query, key, value, mask)[0], plain)
    relations_only = AttentionMemory(relation_vectors=memory.expand(batch, -1, -1), gates=gates)
    assert torch.equal(attention_with_memory(layer, query, key, value, mask, multiner_memory=relations_only)[0], plain)


def test_type_attention_reaches_every_layer_and_off_is_the_baseline():
    decoder_input_ids = torch.tensor([[1, 4, 5], [1, 5, 3]])
    for gated in (True, False):
        model = tiny_model(entity_type_attention=True, gated_additions=gated)
        roles = [
            getattr(module, "multiner_attention_role", None)
            for module in [*model.encoder.modules(), *model.decoder.modules()]
        ]
        assert roles.count("self") == 4 and roles.count("cross") == 2  # 2 encoder + 2 decoder self, 2 cross
        if gated:
            open_gates(model)
        logits = model(**inputs(), decoder_input_ids=decoder_input_ids).logits
        baseline_logits = baseline_with_weights_of(model)(**inputs(), decoder_input_ids=decoder_input_ids).logits
        assert not torch.allclose(logits, baseline_logits)
        # with the type vectors taken away, the same weights compute the baseline's logits
        model.type_attention = None
        assert torch.allclose(
            model(**inputs(), decoder_input_ids=decoder_input_ids).logits, baseline_logits, atol=1e-6
        )


def test_type_embeddings_start_from_the_entity_base(bert_dir):
    from transformers import AutoTokenizer

    base = {"ADR": {"muscle pain": 3, "nausea": 1}}
    model = multiner.Seq2SeqNerModel.from_encoder(
        bert_dir, entity_types=["ADR", "Drug"], entity_type_attention=True, entity_base=base
    )
    tokenizer = AutoTokenizer.from_pretrained(bert_dir)
    embeddings = model.decoder.get_input_embeddings().weight

    def mean(text):
        return embeddings[tokenizer(text, add_special_tokens=False)["input_ids"]].mean(dim=0)

    assert torch.allclose(model.type_embeddings.weight[0], 0.75 * mean("muscle pain") + 0.25 * mean("nausea"))
    assert torch.allclose(model.type_embeddings.weight[1], mean("Drug"))  # no names: the type's own name
    assert model.config.to_dict()["entity_base"] == base


@pytest.mark.parametrize("fields", [{}, ALL_ON], ids=["baseline", "all_on"])
def test_generation_with_and_without_cache_agree(fields):
    model = tiny_model(**fields)
    for num_beams in (1, 3):
        cached = model.generate(**inputs(), num_beams=num_beams, max_new_tokens=8)
        uncached = model.generate(**inputs(), num_beams=num_beams, max_new_tokens=8, use_cache=False)
        assert torch.equal(cached, uncached)


def test_an_encoder_decoder_backbone_takes_every_switch(tmp_path):
    bart = tiny_bart_config()
    config = multiner.Seq2SeqNerConfig(
        encoder_config=bart.to_dict(), entity_types=["A", "B"], max_target_length=32, relation_size=8, **ALL_ON
    )
    torch.manual_seed(0)
    model = multiner.Seq2SeqNerModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        model(**inputs(), labels=LABELS, relation_labels=RELATION_LABELS).loss.backward()
        optimizer.step()
    model.eval()
    generated = model.generate(**inputs())
    assert generated[0].tolist() == [1, 4, 5, 2, 0]
    assert torch.equal(model.generate(**inputs(), use_cache=False), generated)
    model.save_pretrained(tmp_path)
    assert torch.equal(multiner.Seq2SeqNerModel.from_pretrained(tmp_path).generate(**inputs()), generated)


def test_switch_checks_name_the_problem():
    encoder = BertConfig(**TINY_BERT)
    with pytest.raises(ValueError, match="entity_base has types \\['Food'\\]"):
        multiner.Seq2SeqNerConfig.warm_started(encoder, entity_types=["A"], entity_base={"Food": {"x": 1}})
    with pytest.raises(ValueError, match="positive integer counts"):
        multiner.Seq2SeqNerConfig.warm_started(encoder, entity_types=["A"], entity_base={"A": {"x": 0}})
    with pytest.raises(ValueError, match="relation_loss_weight=-1"):
        multiner.Seq2SeqNerConfig.warm_started(encoder, entity_types=["A"], relation_loss_weight=-1)
    t5 = T5Config(vocab_size=60, d_model=32, d_kv=16, d_ff=37, num_layers=1, num_heads=2)
    with pytest.raises(ValueError, match="key/value projections"):
        multiner.Seq2SeqNerModel(
            multiner.Seq2SeqNerConfig(encoder_config=t5.to_dict(), entity_types=["A"], entity_type_attention=True)
        )


# ---------------------------------------------------------------------------------------------------- entity base


def test_entity_base_from_data_counts_names_per_type():
    base = entity_base_of(DISCONTINUOUS)
    assert base == {
        "ADR": {"aching in shoulders": 1, "aching in the legs": 1, "muscle pain": 1, "muscle cramps": 1},
        "Drug": {"aspirin": 1, "Lipitor": 1},
    }


def test_gazetteer_files_tsv_and_json(tmp_path):
    tsv = tmp_path / "gazetteer.tsv"
    tsv.write_text("# type, name, count\nADR\tnausea\t3\nADR\tmuscle pain\n\nDrug\taspirin\t2\nADR\tnausea\n")
    assert read_gazetteer(tsv) == {"ADR": {"nausea": 4, "muscle pain": 1}, "Drug": {"aspirin": 2}}
    data = tmp_path / "gazetteer.json"
    data.write_text(json.dumps({"ADR": {"nausea": 3}, "Drug": ["aspirin", "aspirin", "lipitor"]}))
    assert read_gazetteer(data) == {"ADR": {"nausea": 3}, "Drug": {"aspirin": 2, "lipitor": 1}}
    tsv.write_text("ADR\tnausea\tmany\n")
    with pytest.raises(ValueError, match="line 1: the count 'many'"):
        read_gazetteer(tsv)
    tsv.write_text("ADR nausea\n")
    with pytest.raises(ValueError, match="line 1: expected 'type<TAB>name"):
        read_gazetteer(tsv)
    data.write_text(json.dumps({"ADR": "nausea"}))
    with pytest.raises(ValueError, match="type 'ADR' must map to"):
        read_gazetteer(data)


# -------------------------------------------------------------------------------------------- all on, saved, loaded


@pytest.fixture(scope="module")
def multitask_dir(bert_dir, tmp_path_factory):
    return train_tiny_seq2seq_model(
        bert_dir,
        tmp_path_factory.mktemp("multitask-seq2seq"),
        relation_size=16,
        type_attention_size=16,
        entity_base=entity_base_of(DISCONTINUOUS),
        **ALL_ON,
    )


def summary(found):
    return [(e["entity_group"], [(f["start"], f["end"]) for f in e["fragments"]]) for e in found]


def test_all_switches_on_memorise_reload_and_run_without_the_package(multitask_dir, tmp_path):
    extract = pipeline("seq2seq-ner", model=multitask_dir)
    texts = [example["text"] for example in DISCONTINUOUS]
    found = [summary(result) for result in extract(texts)]
    gold = [
        sorted((e["label"], [(f["start"], f["end"]) for f in e.get("fragments", [e])]) for e in example["entities"])
        for example in DISCONTINUOUS
    ]
    assert [sorted(entities) for entities in found] == gold
    config = json.loads(Path(multitask_dir, "config.json").read_text())
    assert config["entity_base"]["Drug"] == {"Lipitor": 1, "aspirin": 1} and config["entity_type_attention"]
    card = Path(multitask_dir, "README.md").read_text()
    assert "relation prediction over word pairs" in card and "an entity base of 6 names" in card
    loaded = offline_fragments(multitask_dir, texts, tmp_path)
    assert [[(label, [tuple(f) for f in fragments]) for label, fragments in entities] for entities in loaded] == found
