"""The transformers interfaces multiner depends on, named one by one: a release that renames one again fails here,
in the test that names it, before the families' own tests fail further away."""

import configparser
import dataclasses
import inspect
import re
from pathlib import Path

import pytest
import torch
import transformers
from conftest import TINY, tiny_bart_config
from torch import nn
from transformers import (
    BartModel,
    BertConfig,
    BertModel,
    Cache,
    DistilBertConfig,
    DistilBertModel,
    DynamicCache,
    EncoderDecoderCache,
    GenerationMixin,
    RobertaConfig,
    RobertaModel,
)
from transformers.modeling_outputs import BaseModelOutputWithPastAndCrossAttentions, Seq2SeqLMOutput

from multiner import Seq2SeqNerOutput
from multiner.transformers_compat import (
    CACHE_FIELD,
    GENERATE_CACHE_KEYWORD,
    TESTED_TRANSFORMERS,
    cache_keyword,
    cache_parameter,
    call_with_cache,
    is_cache_annotation,
    output_cache,
    pop_cache,
)

ROOT = Path(__file__).resolve().parents[1]


def tiny_encoders() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "BertModel": BertModel(BertConfig(vocab_size=50, **TINY)).eval(),
        "RobertaModel": RobertaModel(RobertaConfig(vocab_size=50, pad_token_id=1, **TINY)).eval(),
        "BartDecoder": BartModel(tiny_bart_config()).get_decoder().eval(),
    }


def test_annotations_that_hold_a_cache():
    assert is_cache_annotation(Cache) and is_cache_annotation(DynamicCache) and is_cache_annotation(Cache | None)
    assert not is_cache_annotation(bool | None) and not is_cache_annotation(inspect.Parameter.empty)

    def forward(input_ids: torch.Tensor, states: DynamicCache | None = None, use_cache: bool | None = None): ...

    assert cache_parameter(forward) == "states"
    assert cache_parameter(lambda input_ids, **kwargs: None) is None


@pytest.mark.parametrize("name", ["BertModel", "RobertaModel", "BartDecoder"])
def test_the_encoders_and_decoders_multiner_caches_with_take_a_cache_argument(name):
    """Interface: `forward(..., <cache>: Cache | None)` of the encoders the packed mode uses and of the decoders
    the seq2seq family generates with (`past_key_values` before transformers 5.24, `cache` from it)."""
    module = tiny_encoders()[name]
    keyword = cache_keyword(module)
    assert keyword in inspect.signature(module.forward).parameters
    assert keyword == GENERATE_CACHE_KEYWORD  # models take it by the name generate() hands it over


def test_an_encoder_without_a_cache_argument_is_named():
    distilbert = DistilBertModel(DistilBertConfig(vocab_size=50, dim=32, n_layers=1, n_heads=2, hidden_dim=37))
    assert cache_keyword(distilbert) is None
    with pytest.raises(ValueError, match="DistilBertModel.forward takes no key/value cache"):
        call_with_cache(distilbert, DynamicCache(), input_ids=torch.tensor([[3, 4]]))


def test_call_with_cache_fills_the_cache_and_agrees_with_one_masked_sequence():
    """Interface: a `DynamicCache` passed by `cache_keyword` is filled, and a second call reads it: `a` then `b`
    through the cache is BERT over `[a + b]` in which `a` does not attend to `b`."""
    bert = tiny_encoders()["BertModel"]
    ids = torch.tensor([[2, 7, 9, 11, 13, 3]])
    mask = torch.ones(1, 1, 6, 6, dtype=torch.bool)
    mask[:, :, :4, 4:] = False
    cache = DynamicCache(config=bert.config)
    with torch.no_grad():
        whole = bert(input_ids=ids, attention_mask=mask).last_hidden_state
        first = call_with_cache(bert, cache, input_ids=ids[:, :4])
        assert cache.get_seq_length() == 4
        second = call_with_cache(bert, cache, input_ids=ids[:, 4:])
    assert cache.get_seq_length() == 6
    torch.testing.assert_close(torch.cat([first.last_hidden_state, second.last_hidden_state], 1), whole)
    assert call_with_cache(bert, None, input_ids=ids).last_hidden_state.shape == whole.shape


def test_a_decoder_returns_the_cache_it_was_given_in_the_output_field():
    """Interface: a decoder called with a cache and `use_cache=True` returns it in its output's `CACHE_FIELD`."""
    decoder = tiny_encoders()["BartDecoder"]
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    with torch.no_grad():
        output = call_with_cache(
            decoder, cache, inputs_embeds=torch.randn(1, 3, 32), encoder_hidden_states=torch.randn(1, 5, 32)
        )
    assert output_cache(output) is cache and cache.get_seq_length() == 3


def test_a_cache_accepted_and_ignored_is_an_error_not_an_empty_cache():
    """What transformers before 5.24 does with `cache=`: swallowed by `**kwargs`, the cache left empty."""

    class Ignores(nn.Module):
        def forward(self, input_ids, cache: Cache | None = None, **kwargs):
            return input_ids

    with pytest.raises(RuntimeError, match="Ignores did not fill the cache passed as `cache=`.*5.23.0"):
        call_with_cache(Ignores(), DynamicCache(), input_ids=torch.tensor([[1]]))


def test_generate_hands_the_cache_over_by_one_keyword_and_outputs_carry_it_in_one_field():
    """Interface: `GenerationMixin.prepare_inputs_for_generation(..., <cache>: Cache)` and the `Cache` field of
    transformers' output classes (the field BERT returns, and the one `Seq2SeqNerOutput` inherits)."""
    assert GENERATE_CACHE_KEYWORD in inspect.signature(GenerationMixin.prepare_inputs_for_generation).parameters
    for output_class in (Seq2SeqLMOutput, BaseModelOutputWithPastAndCrossAttentions, Seq2SeqNerOutput):
        assert CACHE_FIELD in {field.name for field in dataclasses.fields(output_class)}, output_class
    cache = DynamicCache()
    output = Seq2SeqNerOutput(logits=torch.zeros(1), **{CACHE_FIELD: cache}, relation_loss=torch.ones(()))
    assert output_cache(output) is cache and output[CACHE_FIELD] is cache
    assert [value is cache for value in output.to_tuple()] == [False, True, False]


def test_pop_cache_takes_the_cache_by_generates_keyword_or_by_its_type():
    cache = DynamicCache()
    kwargs = {GENERATE_CACHE_KEYWORD: cache, "cache_position": None}
    assert pop_cache(kwargs) is cache and kwargs == {"cache_position": None}
    kwargs = {"past_key_values" if GENERATE_CACHE_KEYWORD == "cache" else "cache": cache}  # the other release's name
    assert pop_cache(kwargs) is cache and kwargs == {}
    assert pop_cache({GENERATE_CACHE_KEYWORD: None}) is None and pop_cache({}) is None
    with pytest.raises(ValueError, match="Give the cache once"):
        pop_cache({"cache": cache, "past_key_values": DynamicCache()})


def test_the_supported_range_is_declared_once_and_tested_at_both_ends():
    """setup.cfg's lower bound is the lowest release tested; `.ci/run` installs it (read from setup.cfg) and the
    newest one; the README states the same range."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requirement = next(
        line for line in setup["options"]["install_requires"].split() if line.startswith("transformers")
    )
    assert requirement == f"transformers>={TESTED_TRANSFORMERS[0]},<6"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -oE 'transformers>=[0-9.]+' setup.cfg" in ci and "for environment in newest lowest" in ci
    readme = (ROOT / "README.md").read_text()
    assert f"transformers {TESTED_TRANSFORMERS[0]}" in readme and f"{TESTED_TRANSFORMERS[1]}" in readme
    installed = tuple(int(part) for part in re.findall(r"\d+", transformers.__version__)[:2])
    assert installed >= tuple(int(part) for part in TESTED_TRANSFORMERS[0].split(".")[:2])
