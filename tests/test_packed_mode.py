"""query_mode="packed": all queries and the context in one sequence, the query block encoded once per batch."""

import pytest
import torch
from conftest import NESTED, processor_for
from transformers import AutoModel, AutoProcessor, DistilBertConfig, DistilBertModel, pipeline

from multiner import BERT_MRC, MultiNerDataCollator, MultiNerModel
from multiner.card_multiner import generate_multiner_card
from multiner.modeling_core import MASKED_LOGIT

TYPES = ["PER", "LOC", "ORG"]
# Short queries: the tiny RoBERTa's 400-token BPE spells the default guideline queries out letter by letter.
QUERIES = {"PER": "person names", "LOC": "places", "ORG": "organizations"}
TEXTS = ["Ada Lovelace was born in London, England.", "Alan Turing worked at the University of Manchester."]


def build(encoder_dir, **config):
    torch.manual_seed(0)
    model = MultiNerModel.from_encoder(
        encoder_dir, entity_types=TYPES, max_span_length=6, query_mode="packed", **config
    ).eval()
    processor = processor_for(encoder_dir, entity_types=TYPES, max_span_length=6, query_mode="packed", queries=QUERIES)
    return model, processor


def test_one_sequence_holds_every_query_then_the_context(encoder_dir):
    processor = processor_for(encoder_dir, entity_types=TYPES, query_mode="packed", queries=QUERIES)
    tokenizer = processor.tokenizer
    batch = processor(TEXTS)
    block = batch["query_input_ids"][0].tolist()
    assert block[0] == tokenizer.cls_token_id
    assert batch["query_spans"].shape == (2, len(TYPES), 2)
    for (start, stop), name in zip(batch["query_spans"][0].tolist(), TYPES):
        assert tokenizer.decode(block[start:stop]).strip() == processor.queries[name]
        assert block[stop] == tokenizer.sep_token_id  # each query is followed by its separator
    assert block[-1] == tokenizer.sep_token_id
    # the context segment is the context and the closing separator, nothing per type
    context = tokenizer(TEXTS[0], add_special_tokens=False)["input_ids"]
    length = int(batch["attention_mask"][0].sum())
    assert batch["input_ids"][0, :length].tolist() == context + [tokenizer.sep_token_id]
    assert "context_start" not in batch


def test_packed_model_equals_one_masked_sequence_per_window(encoder_dir):
    """Encoding the query block once and sharing its keys and values is exactly one `[block + context]` sequence
    whose block does not attend to the context."""
    model, processor = build(encoder_dir)
    batch = processor(TEXTS)
    block, spans = batch["query_input_ids"], batch["query_spans"][0]
    width, rows = block.shape[1], block.shape[0]
    sequence = torch.cat([block, batch["input_ids"]], dim=1)
    total = sequence.shape[1]
    mask = torch.ones(rows, 1, total, total, dtype=torch.bool)
    mask[:, :, :width, width:] = False
    mask[:, :, :, width:] &= batch["attention_mask"].bool()[:, None, None, :]
    type_ids = None
    if "token_type_ids" in batch:
        type_ids = torch.cat([batch["query_token_type_ids"], batch["token_type_ids"]], dim=1)
    context = batch["context_mask"].shape[1]
    with torch.no_grad():
        reference = model.encoder(input_ids=sequence, attention_mask=mask, token_type_ids=type_ids).last_hidden_state
        expected = model.query_encoding.query_attention(
            reference[:, width : width + context], reference[0, :width], spans
        )
        actual = model.query_encoding(
            model.encoder,
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch.get("token_type_ids"),
            context_length=context,
            query_input_ids=batch["query_input_ids"],
            query_token_type_ids=batch.get("query_token_type_ids"),
            query_spans=batch["query_spans"],
        )
    real = batch["context_mask"].bool()[:, None, :].expand(-1, len(TYPES), -1)
    torch.testing.assert_close(actual[real], expected[real], atol=1e-5, rtol=1e-4)


def test_query_attention_reads_each_type_s_query_tokens_only():
    """Each type attends over its own query tokens, gathered (queries of different lengths); the same as attending
    over the whole block with every other type's tokens masked out."""
    from multiner.configuration_multiner import MultiNerConfig
    from multiner.query_modes_multiner import QueryAttention

    torch.manual_seed(0)
    config = MultiNerConfig(encoder_config={"model_type": "bert", "hidden_size": 32}, entity_types=["A", "B", "C"])
    attention = QueryAttention(config).eval()
    context, block = torch.randn(2, 5, 32), torch.randn(12, 32)
    spans = torch.tensor([[1, 3], [4, 9], [10, 11]])
    heads, size = attention.num_heads, 32 // attention.num_heads
    query = attention.query(context).view(2, 5, heads, size).transpose(1, 2)
    key, value = attention.key_value(block).view(-1, 2, heads, size).permute(1, 2, 0, 3)
    positions = torch.arange(12)
    own = (positions >= spans[:, :1]) & (positions < spans[:, 1:])  # [types, block]
    scores = torch.einsum("bhcd,hld->bhcl", query, key)[:, None] * size**-0.5
    scores = scores.masked_fill(~own[None, :, None, None, :], float("-inf"))
    attended = torch.einsum("bthcl,hld->btchd", scores.softmax(-1), value).reshape(2, 3, 5, 32)
    tokens = context[:, None].expand_as(attended)
    expected = attention.layer_norm(tokens + attention.fuse(torch.cat([attended, tokens * attended], dim=-1)))
    torch.testing.assert_close(attention(context, block, spans), expected)


def test_query_block_goes_through_the_encoder_once_per_batch(bert_dir):
    model, processor = build(bert_dir)
    batch = processor(TEXTS)
    shapes = []
    model.encoder.register_forward_hook(
        lambda module, args, kwargs, output: shapes.append(tuple(kwargs["input_ids"].shape)), with_kwargs=True
    )
    outputs = model(**batch)
    assert shapes == [(1, batch["query_input_ids"].shape[1]), tuple(batch["input_ids"].shape)]
    context = batch["context_mask"].shape[1]
    assert outputs.span_logits.shape == (2, context, 6, len(TYPES))
    assert torch.all(outputs.start_logits[batch["start_mask"] == 0] == MASKED_LOGIT)


def test_prediction_encodes_the_query_block_once_until_the_weights_change(bert_dir):
    """Without gradients in eval mode the block's keys and values are kept: a second batch (one text) runs the
    encoder on its context only, with the same outputs as a fresh model; changing a weight in place, training mode
    or gradients encode the block again, and the query attention's projection of it follows its own weights."""
    model, processor = build(bert_dir)
    shapes = []
    model.encoder.register_forward_hook(
        lambda module, args, kwargs, output: shapes.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    first, second = processor(TEXTS), processor(TEXTS[:1])
    with torch.no_grad():
        model(**first)
        kept = model(**second)
    assert shapes == [1, 2, 1]  # block, first batch's contexts, second batch's context only
    fresh, _ = build(bert_dir)
    with torch.no_grad():
        expected = fresh(**second)
    for name in ("start_logits", "end_logits", "span_logits"):
        torch.testing.assert_close(getattr(kept, name), getattr(expected, name))

    shapes.clear()
    with torch.no_grad():
        model.encoder.embeddings.word_embeddings.weight.mul_(1.5)
        changed = model(**second)
        model(**second)
    assert shapes == [1, 1, 1] and not torch.allclose(changed.start_logits, kept.start_logits)
    # the query attention's projection of the block is kept with it, and recomputed when its weights change
    key_value = model.query_encoding.query_attention.key_value
    with torch.no_grad():
        before = model(**second)
        key_value.weight.mul_(0.5)
        after = model(**second)
        model.query_encoding._block = None  # nothing kept: computed afresh
        recomputed = model(**second)
    assert not torch.allclose(after.start_logits, before.start_logits)
    torch.testing.assert_close(after.start_logits, recomputed.start_logits, rtol=0, atol=0)
    shapes.clear()
    model(**second)  # with gradients
    model.train()
    with torch.no_grad():
        model(**second)
    assert shapes == [1, 1, 1, 1]


def test_each_type_reads_its_own_query(bert_dir):
    """With shared heads and no type attention, a type's scores come from its query alone: swapping two types'
    places in the block swaps their scores."""
    model, processor = build(bert_dir, **BERT_MRC)
    batch = processor(TEXTS)
    before = model(**batch).start_logits
    swapped = batch["query_spans"].clone()
    swapped[:, [0, 2]] = swapped[:, [2, 0]]
    batch["query_spans"] = swapped
    after = model(**batch).start_logits
    torch.testing.assert_close(after[..., 0], before[..., 2])
    torch.testing.assert_close(after[..., 2], before[..., 0])
    assert not torch.allclose(before[..., 0], before[..., 2])


def test_entity_type_subset_keeps_every_query_in_the_block(bert_dir):
    model, processor = build(bert_dir, type_attention="none")
    full = processor(TEXTS)
    subset = processor(TEXTS, entity_types=["ORG"])
    assert torch.equal(subset["query_input_ids"], full["query_input_ids"])
    assert subset["query_spans"][0].tolist() == full["query_spans"][0, 2:].tolist()
    assert subset["entity_type_ids"].tolist() == [2]
    torch.testing.assert_close(model(**subset).span_logits[..., 0], model(**full).span_logits[..., 2])


def test_windows_leave_room_for_every_query(bert_dir):
    per_type = processor_for(bert_dir, entity_types=TYPES, max_length=96, stride=8)
    packed = processor_for(bert_dir, entity_types=TYPES, max_length=96, stride=8, query_mode="packed")
    text = " ".join(["word"] * 300)
    batch = packed(text)
    longest = batch["query_input_ids"].shape[1] + batch["input_ids"].shape[1]
    assert longest <= 96
    assert len(batch.windows) > len(per_type(text).windows)
    with pytest.raises(ValueError, match="packed queries of all 3 entity types take .* max_length=40"):
        processor_for(bert_dir, entity_types=TYPES, max_length=40, stride=8, query_mode="packed")


def test_packed_mode_errors_name_the_fix(bert_dir, tmp_path):
    model, processor = build(bert_dir)
    per_type_processor = processor_for(bert_dir, entity_types=TYPES, max_span_length=6)
    per_type_batch = per_type_processor(TEXTS)
    with pytest.raises(ValueError, match="another model configuration .* query_mode='packed'"):
        model(**per_type_batch)
    del per_type_batch["input_signature"]  # inputs built by hand: their shape is still checked
    with pytest.raises(ValueError, match="query_mode='packed' takes input_ids of shape"):
        model(**per_type_batch)
    with pytest.raises(ValueError, match="built for .*query_mode='per_type'.*the model has .*query_mode='packed'"):
        per_type_processor.check_model_config(model.config)
    batch = processor(TEXTS)
    batch["query_spans"][1, 0, 1] -= 1
    with pytest.raises(ValueError, match="share one query block"):
        model(**batch)
    model.train()
    model.activation_checkpointing_enable()
    with pytest.raises(ValueError, match="without gradient_checkpointing"):
        model(**processor(TEXTS))
    DistilBertModel(DistilBertConfig(vocab_size=30522, dim=32, n_layers=1, n_heads=2, hidden_dim=37)).save_pretrained(
        tmp_path
    )
    with pytest.raises(ValueError, match="needs an encoder whose forward takes a key/value cache.*DistilBertModel"):
        MultiNerModel.from_encoder(str(tmp_path), entity_types=TYPES, query_mode="packed")
    with pytest.raises(ValueError, match="query_mode='stacked' is not allowed"):
        processor_for(bert_dir, entity_types=TYPES, query_mode="stacked")


def test_trainer_learns_nested_entities_and_auto_classes_reload(packed_dir):
    model, processor = AutoModel.from_pretrained(packed_dir).eval(), AutoProcessor.from_pretrained(packed_dir)
    assert model.config.query_mode == processor.query_mode == "packed"
    batch = processor([text for text, _ in NESTED])
    with torch.no_grad():
        predicted = processor.decode(model(**batch), batch)
    gold = [{(label, s, e) for s, e, label in ents} for _, ents in NESTED]
    assert [{(p["entity_group"], p["start"], p["end"]) for p in entities} for entities in predicted] == gold


def test_pipeline_runs_packed_models_and_type_subsets(packed_dir):
    ner = pipeline("multi-ner", model=packed_dir)
    text, entities = NESTED[1]
    assert {(e["start"], e["end"], e["entity_group"]) for e in ner(text)} == set(entities)
    only_loc = ner(text, entity_types=["LOC"])
    assert {(e["start"], e["end"], e["entity_group"]) for e in only_loc} == {(12, 19, "LOC")}
    texts = [text for text, _ in NESTED]
    assert [len(found) for found in ner(texts, batch_size=2)] == [len(ents) for _, ents in NESTED]


def test_model_card_describes_the_packed_mode(packed_dir):
    model, processor = AutoModel.from_pretrained(packed_dir), AutoProcessor.from_pretrained(packed_dir)
    text = generate_multiner_card(model.config, processor)
    assert "| query mode | packed |" in text and "packed query mode" in text
    assert "once per type" not in text


def test_bfloat16_forward(bert_dir):
    model, processor = build(bert_dir)
    outputs = model.to(torch.bfloat16)(**processor(TEXTS))
    assert outputs.start_logits.dtype == torch.bfloat16
    assert torch.isfinite(outputs.span_logits.float()).all()


def test_pad_to_multiple_of_pads_the_context_but_never_the_query_block(bert_dir):
    model, processor = build(bert_dir)
    rows = [processor.preprocess({"text": text, "entities": []}) for text in TEXTS]
    plain, rounded = (
        MultiNerDataCollator.from_processor(processor)(rows),
        MultiNerDataCollator.from_processor(processor, pad_to_multiple_of=64)(rows),
    )
    assert rounded["input_ids"].shape[1] == 64
    assert torch.equal(rounded["query_input_ids"], plain["query_input_ids"])
    torch.testing.assert_close(model(**rounded).start_logits, model(**plain).start_logits)
