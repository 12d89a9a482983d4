"""Seq2SeqNerModel: output space and masks, warm-starting and weight sharing, generation with and without the cache,
an encoder-decoder backbone (BART), and config checks."""

import pytest
import torch
from conftest import SEQ2SEQ_TINY_BERT, seq2seq_inputs, tiny_bart_config
from transformers import AutoModel, BartConfig, BertConfig

import multiner
from multiner.configuration_seq2seq import END_ID, START_ID
from multiner.modeling_seq2seq import UNREACHABLE, shift_right

TINY_BERT = SEQ2SEQ_TINY_BERT


def tiny_model(**fields):
    torch.manual_seed(0)
    config = multiner.Seq2SeqNerConfig.warm_started(BertConfig(**TINY_BERT), entity_types=["A", "B"], **fields)
    return multiner.Seq2SeqNerModel(config).eval()


inputs = seq2seq_inputs


def test_logits_cover_end_start_types_and_words_with_masks():
    model = tiny_model()
    labels = torch.tensor([[4, 5, 2, 6, 3, 0], [5, 2, 0, -100, -100, -100]])
    output = model(**inputs(), labels=labels)
    assert output.logits.shape == (2, 6, 2 + 2 + 3)
    assert (output.logits[..., START_ID] == UNREACHABLE).all()
    assert (output.logits[1, :, 4 + 2] == UNREACHABLE).all()  # the second row's padding word
    assert (output.logits[0, :, 4 + 2] != UNREACHABLE).all()
    expected = torch.nn.functional.cross_entropy(output.logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    assert torch.allclose(output.loss, expected)
    assert shift_right(labels)[:, 0].eq(START_ID).all() and shift_right(labels)[0, 1:].tolist() == [4, 5, 2, 6, 3]


def test_decoder_inputs_are_what_the_ids_stand_for():
    model = tiny_model()
    encoded = model.encode(**inputs())
    ids = torch.tensor([[START_ID, 2, 3, 4 + 1, END_ID]] * 2)
    embedded = model._embed_outputs(ids, encoded)
    assert torch.equal(embedded[0, 0], model.special_embeddings.weight[START_ID])
    assert torch.equal(embedded[0, 1], model.type_embeddings.weight[0])
    assert torch.equal(embedded[0, 2], model.type_embeddings.weight[1])
    word_embedding = model.get_decoder().get_input_embeddings().weight[12]  # word 1 of row 0 is token id 12
    assert torch.equal(embedded[0, 3], word_embedding)
    assert torch.equal(embedded[0, 4], model.special_embeddings.weight[END_ID])


def test_a_misconfigured_input_is_refused():
    model = tiny_model()
    with pytest.raises(ValueError, match="another model configuration"):
        model(**inputs(), labels=torch.tensor([[0], [0]]), input_signature=torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="word_index is required"):
        model(input_ids=inputs()["input_ids"], labels=torch.tensor([[0], [0]]))


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generation_with_and_without_cache_agree_and_is_well_formed(num_beams):
    model = tiny_model()
    with torch.no_grad():
        model.type_embeddings.weight.mul_(0)  # an untrained model that does not stop at once
        model.special_embeddings.weight.mul_(0)
        cached = model.generate(**inputs(), num_beams=num_beams, max_new_tokens=12)
        uncached = model.generate(**inputs(), num_beams=num_beams, max_new_tokens=12, use_cache=False)
    assert torch.equal(cached, uncached)
    assert (cached[:, 0] == START_ID).all()
    for row, words in zip(cached.tolist(), [3, 2]):
        found, malformed = multiner.targets_seq2seq.decode_targets(row, 2, words, "all_words")
        pointers = [token - 4 for token in row if token >= 4]
        assert all(pointer < words for pointer in pointers)


def test_warm_started_decoder_copies_the_encoder_and_sharing_ties_it(bert_dir, tmp_path):
    model = multiner.Seq2SeqNerModel.from_encoder(bert_dir, entity_types=["ADR"])
    encoder = AutoModel.from_pretrained(bert_dir)
    decoder_weights = dict(model.decoder.named_parameters())
    for name, weight in encoder.named_parameters():
        if not name.startswith("pooler."):
            assert torch.equal(decoder_weights[name], weight), name
            assert torch.equal(dict(model.encoder.named_parameters())[name], weight), name
    assert any("crossattention" in name for name in decoder_weights)
    assert model.decoder.config.is_decoder and model.decoder.config.add_cross_attention
    # one vocabulary matrix, as BART's encoder and decoder share theirs; the layers are the decoder's own
    assert model.decoder.get_input_embeddings().weight is model.encoder.get_input_embeddings().weight
    query = "encoder.layer.0.attention.self.query.weight"
    assert model.decoder.get_parameter(query) is not model.encoder.get_parameter(query)

    shared = multiner.Seq2SeqNerModel.from_encoder(bert_dir, entity_types=["ADR"], share_encoder_decoder=True)
    layer = "encoder.layer.0.attention.self.query.weight"
    assert shared.decoder.get_parameter(layer) is shared.encoder.get_parameter(layer)
    assert shared.decoder.get_parameter(layer.replace("attention", "crossattention")) is not None
    encoder_names = {name for name, _ in model.encoder.named_parameters()}
    embedding = model.encoder.get_input_embeddings().weight  # shared in both models
    own = [p for name, p in model.decoder.named_parameters() if name in encoder_names and p is not embedding]
    assert sum(p.numel() for p in shared.parameters()) == sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in own
    )
    shared.save_pretrained(tmp_path)
    reloaded = multiner.Seq2SeqNerModel.from_pretrained(tmp_path)
    assert reloaded.decoder.get_parameter(layer) is reloaded.encoder.get_parameter(layer)
    assert torch.equal(reloaded.encoder.get_parameter(layer), shared.encoder.get_parameter(layer))


def test_type_embeddings_start_from_the_type_names(bert_dir):
    model = multiner.Seq2SeqNerModel.from_encoder(bert_dir, entity_types=["adverse_drug", "x"])
    tokenizer = multiner.Seq2SeqNerProcessor.from_model(model).tokenizer
    ids = tokenizer("adverse drug", add_special_tokens=False)["input_ids"]
    expected = model.decoder.get_input_embeddings().weight[ids].mean(dim=0)
    assert torch.allclose(model.type_embeddings.weight[0], expected)


def test_an_encoder_decoder_backbone_trains_and_generates(tmp_path):
    bart = tiny_bart_config()
    config = multiner.Seq2SeqNerConfig(
        encoder_config=bart.to_dict(), entity_types=["A", "B"], max_target_length=32, target_mode="all_words"
    )
    assert not config.warm_start
    torch.manual_seed(0)
    model = multiner.Seq2SeqNerModel(config)
    labels = torch.tensor([[4, 5, 2, 0], [5, 3, 0, -100]])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        model(**inputs(), labels=labels).loss.backward()
        optimizer.step()
    model.eval()
    generated = model.generate(**inputs())
    assert generated[0].tolist() == [START_ID, 4, 5, 2, END_ID]
    assert generated[1].tolist()[:4] == [START_ID, 5, 3, END_ID]
    model.save_pretrained(tmp_path)
    assert torch.equal(multiner.Seq2SeqNerModel.from_pretrained(tmp_path).generate(**inputs()), generated)


def test_config_checks_name_the_field():
    encoder = BertConfig(**TINY_BERT)
    with pytest.raises(ValueError, match="target_mode='words'"):
        multiner.Seq2SeqNerConfig.warm_started(encoder, entity_types=["A"], target_mode="words")
    with pytest.raises(ValueError, match="duplicates"):
        multiner.Seq2SeqNerConfig.warm_started(encoder, entity_types=["A", "A"])
    with pytest.raises(ValueError, match="is an encoder only"):
        multiner.Seq2SeqNerConfig(encoder_config=encoder.to_dict(), entity_types=["A"])
    with pytest.raises(ValueError, match="max_target_length=600 is more than the decoder's 512"):
        multiner.Seq2SeqNerConfig.warm_started(encoder, entity_types=["A"], max_target_length=600)
    with pytest.raises(ValueError, match="share_encoder_decoder"):
        multiner.Seq2SeqNerConfig(
            encoder_config=BartConfig().to_dict(), entity_types=["A"], share_encoder_decoder=True
        )
    with pytest.raises(ValueError, match="needs entity types"):
        multiner.Seq2SeqNerModel(multiner.Seq2SeqNerConfig.warm_started(encoder))
