import json
import os
import warnings

import pytest
import torch
from conftest import processor_for
from transformers import AutoModel

import multiner
from multiner import BERT_MRC, MultiNerDataCollator, MultiNerModel
from multiner.modeling_core import MASKED_LOGIT

TYPES = ["PER", "LOC", "ORG"]
TEXTS = ["Ada Lovelace was born in London, England.", "Alan Turing worked at the University of Manchester."]


def build(encoder_dir, **config):
    torch.manual_seed(0)
    model = MultiNerModel.from_encoder(encoder_dir, entity_types=TYPES, max_span_length=6, **config).eval()
    processor = processor_for(encoder_dir, entity_types=TYPES, max_span_length=6)
    return model, processor


@pytest.mark.parametrize(
    "config",
    [{"type_attention": "none"}, {"type_attention": "token"}, {"type_attention": "full"}, BERT_MRC],
    ids=["none", "token", "full", "bert-mrc"],
)
def test_output_shapes_and_masking(encoder_dir, config):
    model, processor = build(encoder_dir, **config)
    batch = processor(TEXTS)
    batch_size, types, _ = batch["input_ids"].shape
    context = batch["context_mask"].shape[1]
    outputs = model(**batch)
    assert outputs.loss is None
    assert outputs.start_logits.shape == (batch_size, context, types)
    assert outputs.end_logits.shape == (batch_size, context, types)
    assert outputs.span_logits.shape == (batch_size, context, 6, types)
    # padding and non-initial sub-words cannot start an entity
    not_start = batch["start_mask"] == 0
    assert torch.all(outputs.start_logits[not_start] == MASKED_LOGIT)
    assert torch.all(outputs.start_logits[~not_start] != MASKED_LOGIT)
    # a span running past the end of the context is masked
    shortest = int(batch["context_mask"].sum(1).min())
    row = int(batch["context_mask"].sum(1).argmin())
    assert torch.all(outputs.span_logits[row, shortest - 1, 1:] == MASKED_LOGIT)


def test_shared_heads_have_one_head_set_and_per_type_heads_one_per_type(bert_dir):
    shared, _ = build(bert_dir, **BERT_MRC)
    per_type, _ = build(bert_dir, type_attention="none")
    assert shared.heads.boundary_weight.shape[0] == 1
    assert per_type.heads.boundary_weight.shape[0] == len(TYPES)
    assert not any(name.startswith("type_attention") for name, _ in shared.named_parameters())


def test_all_types_go_through_the_encoder_in_one_call(bert_dir):
    model, processor = build(bert_dir)
    batch = processor(TEXTS)
    shapes = []
    model.encoder.register_forward_hook(
        lambda module, args, kwargs, output: shapes.append(kwargs["input_ids"].shape), with_kwargs=True
    )
    model(**batch)
    batch_size, types, seq = batch["input_ids"].shape
    assert shapes == [(batch_size * types, seq)]


def test_subset_of_types_matches_full_run_without_type_attention(bert_dir):
    model, processor = build(bert_dir, type_attention="none")
    full = model(**processor(TEXTS))
    subset = processor(TEXTS, entity_types=["LOC"])
    assert subset["entity_type_ids"].tolist() == [1]
    only_loc = model(**subset)
    torch.testing.assert_close(only_loc.start_logits[..., 0], full.start_logits[..., 1])
    torch.testing.assert_close(only_loc.span_logits[..., 0], full.span_logits[..., 1])


def test_type_attention_mixes_types(bert_dir):
    """With type attention, one type's scores depend on the other types' queries; without it they do not."""
    for mode, should_change in (("full", True), ("token", True), ("none", False)):
        model, processor = build(bert_dir, type_attention=mode)
        with torch.no_grad():
            for parameter in model.heads.parameters():
                parameter.normal_()
        batch = processor(TEXTS)
        before = model(**batch).start_logits[..., 0]
        # change only the ORG query's tokens
        org = batch["input_ids"][:, 2].clone()
        org[:, 1] = org[:, 1] + 1
        batch["input_ids"][:, 2] = org
        after = model(**batch).start_logits[..., 0]
        assert (not torch.allclose(before, after)) == should_change, mode


def test_full_type_attention_in_row_chunks_equals_one_pass(monkeypatch):
    """Full type attention computes its [rows, heads, items, items] scores a few rows at a time (bounded memory);
    rows do not attend to each other, so the result is the one-pass result, padding rows included."""
    import multiner.type_attention_multiner as type_attention

    torch.manual_seed(0)
    config = multiner.MultiNerConfig(encoder_config={"model_type": "bert", "hidden_size": 32}, entity_types=["A", "B"])
    attention = type_attention.FullTypeAttention(config).eval()
    hidden, mask = torch.randn(5, 2, 7, 32), torch.ones(5, 7)
    mask[1, 4:] = 0
    mask[3] = 0
    whole = attention(hidden, mask)
    monkeypatch.setattr(type_attention, "ATTENTION_BUDGET", attention.attention.num_heads * 14**2 * 2)  # 2 rows
    torch.testing.assert_close(attention(hidden, mask), whole)


def test_shared_boundary_head_starts_as_the_model_without_it_and_learns_from_every_type(bert_dir, tmp_path):
    shared, processor = build(bert_dir, head_dropout=0.0, type_attention_dropout=0.0)  # on by default
    assert shared.heads.shared_boundary_weight.shape == (2, shared.config.hidden_size)
    # configs saved before the field existed, and BERT-MRC's, load without it
    saved = {key: value for key, value in shared.config.to_dict().items() if key != "shared_boundary_head"}
    assert multiner.MultiNerConfig.from_dict(saved).shared_boundary_head is False
    assert multiner.MultiNerConfig.from_dict({**saved, **BERT_MRC}).shared_boundary_head is False
    plain_config = multiner.MultiNerConfig(**{**shared.config.to_dict(), "shared_boundary_head": False})
    plain = MultiNerModel(plain_config).eval()
    plain.load_state_dict({k: v for k, v in shared.state_dict().items() if "shared_boundary" not in k})
    batch = processor(TEXTS)
    with torch.no_grad():
        for name in ("start_logits", "end_logits", "span_logits"):
            assert torch.equal(getattr(shared(**batch), name), getattr(plain(**batch), name)), name
    # one PER example moves the shared pair, and with it the boundary logits of every type
    row = processor.preprocess({"text": TEXTS[0], "entities": [{"start": 0, "end": 12, "label": "PER"}]})
    shared.train()
    shared(**MultiNerDataCollator.from_processor(processor)([row])).loss.backward()
    gradient = shared.heads.shared_boundary_weight.grad
    assert gradient is not None and gradient.abs().sum() > 0
    with torch.no_grad():
        shared.heads.shared_boundary_weight -= gradient
    shared.eval().save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        moved, before, reloaded = shared(**batch), plain(**batch), loaded(**batch)
    valid = batch["start_mask"].bool()
    moved_starts, starts_before = moved.start_logits[valid], before.start_logits[valid]  # [starts, types]
    for type_position in range(len(TYPES)):
        assert not torch.equal(moved_starts[:, type_position], starts_before[:, type_position])
    torch.testing.assert_close(reloaded.start_logits, moved.start_logits)


def test_loss_only_with_labels_and_it_trains(bert_dir):
    model, processor = build(bert_dir, head_dropout=0.0, type_attention_dropout=0.0)
    model.train()
    row = processor.preprocess({"text": TEXTS[0], "entities": [{"start": 0, "end": 12, "label": "PER"}]})
    batch = MultiNerDataCollator.from_processor(processor)([row])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = model(**batch).loss
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert losses[-1] < losses[0] / 4


def test_labels_outside_the_inputs_raise(bert_dir):
    model, processor = build(bert_dir)
    batch = processor(TEXTS)
    batch["labels"] = torch.tensor([[[0, 0, 9]], [[0, 1, 1]]])  # 10 tokens > max_span_length 6
    with pytest.raises(ValueError, match="max_span_length=6"):
        model(**batch)


def test_inputs_with_other_number_of_types_raise(bert_dir):
    model, _ = build(bert_dir)
    processor = processor_for(bert_dir, entity_types=["PER", "LOC"], max_span_length=6)
    batch = processor(TEXTS)
    with pytest.raises(ValueError, match="built by a processor for another model configuration"):
        model(**batch)
    del batch["input_signature"]  # inputs built by hand: the shapes are still checked
    with pytest.raises(ValueError, match="inputs hold 2 entity types but the model knows 3"):
        model(**batch)


@pytest.mark.parametrize("other", [{"entity_types": ["LOC", "PER", "ORG"]}, {"max_span_length": 7}])
def test_inputs_for_another_configuration_raise(bert_dir, other):
    """Same shapes, other meaning (types in another order, another span length): only the signature can tell."""
    model, _ = build(bert_dir)
    processor = processor_for(bert_dir, **{"entity_types": ["PER", "LOC", "ORG"], "max_span_length": 6, **other})
    with pytest.raises(ValueError, match="entity_types=\\['PER', 'LOC', 'ORG'\\], query_mode='per_type', max_span"):
        model(**processor(TEXTS))


def test_span_memory_is_linear_in_context_length(bert_dir):
    """The span head scores [context, max_span] pairs: a 4x longer context gives a 4x larger span tensor."""
    model, processor = build(bert_dir)
    short = processor(" ".join(["word"] * 30))
    long = processor(" ".join(["word"] * 120))
    assert model(**short).span_logits.numel() * 4 == model(**long).span_logits.numel()


def test_interior_span_features_see_what_lies_between_the_ends():
    """With span_features="interior" the score of span (i, j) changes with the tokens between i and j (their mean,
    and the veto of the most boundary-like one), not only with h_i and h_j; "boundaries" sees the ends alone."""
    from multiner.modeling_core import SpanHeads

    torch.manual_seed(0)
    hidden = torch.randn(1, 2, 7, 32)  # [batch, types, context, hidden]
    changed = hidden.clone()
    changed[:, :, 3] = torch.randn(2, 32) * 5  # token 3 only: inside span (1, 5), outside span (4, 6)
    heads_of = {}
    for features in ("boundaries", "interior"):
        heads = SpanHeads(2, 32, 32, max_span_length=6, interior=features == "interior").eval()
        for parameter in heads.parameters():
            torch.nn.init.normal_(parameter, std=0.5)
        heads_of[features] = heads
        before, after = heads.spans(hidden, torch.arange(2)), heads.spans(changed, torch.arange(2))
        assert torch.equal(before[0, 4, 2], after[0, 4, 2])  # span 4..6 does not hold token 3: same score
        assert torch.equal(before[0, 1, 4], after[0, 1, 4]) == (features == "boundaries")
    # the sparse path (training, thresholded decoding) scores exactly what the dense path does
    heads = heads_of["interior"]
    inside_context = (torch.arange(7)[:, None] + torch.arange(6)[None, :] < 7)[None, :, :, None]
    candidates = (torch.rand(1, 7, 6, 2) < 0.4) & inside_context
    dense, sparse = heads.spans(hidden, torch.arange(2)), heads.spans(hidden, torch.arange(2), candidates)
    torch.testing.assert_close(sparse[candidates], dense[candidates])
    assert (sparse[~candidates] == MASKED_LOGIT).all() and candidates.sum() > 10
    # one type without candidates, then none at all
    only_first = candidates & (torch.arange(2) == 0)
    one_type = heads.spans(hidden, torch.arange(2), only_first)
    torch.testing.assert_close(one_type[only_first], dense[only_first])
    assert (one_type[..., 1] == MASKED_LOGIT).all()
    assert (heads.spans(hidden, torch.arange(2), torch.zeros_like(candidates)) == MASKED_LOGIT).all()


def test_configs_saved_before_span_features_load_as_boundaries(bert_dir, tmp_path):
    """A folder whose config.json predates span_features loads the model it was: boundaries only, no new weights."""
    torch.manual_seed(0)
    model = MultiNerModel.from_encoder(bert_dir, entity_types=TYPES, span_features="boundaries")
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["span_features"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert loaded.config.span_features == "boundaries" and not info["missing_keys"]
    assert MultiNerModel.from_encoder(bert_dir, entity_types=TYPES).config.span_features == "interior"
    with pytest.raises(ValueError, match="span_features='middle' is not allowed"):
        MultiNerModel.from_encoder(bert_dir, entity_types=TYPES, span_features="middle")


def test_save_and_auto_load_give_equal_outputs_with_safetensors_only(encoder_dir, tmp_path):
    model, processor = build(encoder_dir, type_attention="token")
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    files = os.listdir(tmp_path)
    assert "model.safetensors" in files and not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(loaded, MultiNerModel)
    batch = processor(TEXTS)
    expected, actual = model(**batch), loaded(**batch)
    for name in ("start_logits", "end_logits", "span_logits"):
        torch.testing.assert_close(getattr(actual, name), getattr(expected, name))


def test_bfloat16_forward(bert_dir):
    model, processor = build(bert_dir)
    outputs = model.to(torch.bfloat16)(**processor(TEXTS))
    assert outputs.span_logits.dtype == torch.bfloat16
    assert torch.isfinite(outputs.span_logits.float()).all()


def test_span_candidates_select_the_spans_in_the_span_loss(bert_dir):
    """With no predicted and no gold boundaries, `pred_and_gold` has no span candidates (span loss 0) while `all`
    scores every valid span."""
    span_only = {"start_loss_weight": 0.0, "end_loss_weight": 0.0, "span_loss_weight": 1.0}
    losses = {}
    for mode in ("all", "pred_and_gold"):
        model, processor = build(bert_dir, span_candidates=mode, **span_only)
        with torch.no_grad():
            model.heads.boundary_bias.fill_(-50.0)  # nothing predicted as a start or an end
        batch = processor(TEXTS)
        batch["labels"] = torch.full((2, 1, 3), -100)
        losses[mode] = model(**batch).loss.item()
    assert losses["pred_and_gold"] == 0.0
    assert losses["all"] > 0.1


def test_training_scores_only_the_loss_candidates_and_gets_the_dense_loss(bert_dir):
    """In training, the span MLP runs on the pred-and-gold candidates only; the loss is the one the dense scores
    give (compared with every dropout off, against the evaluation-mode forward, which scores every span)."""
    model, processor = build(bert_dir)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    rows = [
        processor.preprocess({"text": TEXTS[0], "entities": [{"start": 0, "end": 12, "label": "PER"}]}),
        processor.preprocess({"text": TEXTS[1], "entities": [{"start": 0, "end": 11, "label": "PER"}]}),
    ]
    batch = MultiNerDataCollator.from_processor(processor)(rows)
    dense = model.eval()(**batch)
    sparse = model.train()(**batch)
    torch.testing.assert_close(sparse.loss, dense.loss)
    scored = sparse.span_logits != MASKED_LOGIT
    assert 0 < scored.sum() < (dense.span_logits != MASKED_LOGIT).sum()
    torch.testing.assert_close(sparse.span_logits[scored], dense.span_logits[scored])


@pytest.mark.parametrize("threshold", [0.3, 0.5])
def test_span_threshold_scores_fewer_spans_and_decodes_the_same_entities(bert_dir, threshold):
    model, processor = build(bert_dir)
    with torch.no_grad():
        model.heads.boundary_bias.fill_(0.2)  # about half the boundaries clear a threshold near 0.5
        model.heads.boundary_weight.normal_(std=0.5)
    batch = processor(TEXTS)
    dense, sparse = model(**batch), model(**batch, span_threshold=threshold)
    scored = sparse.span_logits != MASKED_LOGIT
    assert 0 < scored.sum() < (dense.span_logits != MASKED_LOGIT).sum()
    torch.testing.assert_close(sparse.span_logits[scored], dense.span_logits[scored])
    expected = processor.decode(dense, batch, threshold=threshold)
    assert sum(map(len, expected)) > 0
    assert processor.decode(sparse, batch, threshold=threshold) == expected
    with pytest.raises(ValueError, match="span_threshold=1.5 must be a probability"):
        model(**batch, span_threshold=1.5)


def test_the_span_candidate_cap_bounds_the_scored_spans_and_changes_nothing_below_it(bert_dir):
    model, processor = build(bert_dir)
    with torch.no_grad():
        model.heads.boundary_bias.fill_(0.2)  # an unsure model: about half the boundaries clear 0.5
        model.heads.boundary_weight.normal_(std=0.5)
    batch = processor(TEXTS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning below the cap
        uncapped = model(**batch, span_threshold=0.5)
    scored = (uncapped.span_logits != MASKED_LOGIT).sum(dim=(1, 2))  # [windows, types]
    most = int(scored.max())
    model.config.max_span_candidates = most  # reached nowhere: the very same logits
    torch.testing.assert_close(model(**batch, span_threshold=0.5).span_logits, uncapped.span_logits)
    cap = max(most // 3, 1)
    model.config.max_span_candidates = cap
    with pytest.warns(multiner.SpanCandidatesCappedWarning, match=rf"^{int((scored - cap).clamp(min=0).sum())} span "):
        capped = model(**batch, span_threshold=0.5)
    kept = capped.span_logits != MASKED_LOGIT
    assert (kept.sum(dim=(1, 2)) == scored.clamp(max=cap)).all()
    torch.testing.assert_close(capped.span_logits[kept], uncapped.span_logits[kept])  # a subset, scored alike
    # the ones kept are those of the most probable start and end
    start, end = torch.sigmoid(uncapped.start_logits), torch.sigmoid(uncapped.end_logits)
    for row, type_pos in zip(*torch.nonzero(scored > cap, as_tuple=True)):
        firsts, widths = torch.nonzero(uncapped.span_logits[row, :, :, type_pos] != MASKED_LOGIT, as_tuple=True)
        rank = (start[row, firsts, type_pos] * end[row, firsts + widths, type_pos]).log()
        chosen = kept[row, firsts, widths, type_pos]
        assert rank[chosen].min() >= rank[~chosen].max() - 1e-5
