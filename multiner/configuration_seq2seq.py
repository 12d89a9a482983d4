"""Configuration of the seq2seq pointer family: flat, nested and discontinuous entities generated as pointers to
source words followed by a type token (the BARTNER kind of model, the baseline of seeds/001)."""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .encoders import default_encoder_path
from .modeling_core import check_extra_fields, check_field_values, checked_names, is_saved_config, signature_digest

# How an entity's words are pointed at: every word of every fragment, or each fragment's first and last word.
TARGET_MODES = ("all_words", "fragment_bounds")

# The installed pipeline task, and the one recorded in saved folders for trust_remote_code loading.
SEQ2SEQ_TASK = "seq2seq-ner"
REMOTE_SEQ2SEQ_TASK = "seq2seq-ner-remote"

# The output space of every decoding step: [end; start; one per entity type; one per source word].
END_ID = 0
START_ID = 1
FIRST_TYPE_ID = 2

# Classes of a word pair in relation prediction (seeds/001): no relation; first and last word of one entity; two
# consecutive words of one entity (across a discontinuous entity's gap too).
RELATION_CLASSES = ("none", "begin_end", "inside")


class Seq2SeqNerConfig(PreTrainedConfig):
    r"""Configuration of a [`Seq2SeqNerModel`]: an encoder-decoder that writes each entity as pointers to its source
    words followed by its type token, then an end token.

    Two kinds of backbone: an encoder-decoder model's own config (BART, T5: anything whose `AutoModel` has an
    encoder and a decoder) in `encoder_config` with no `decoder_config`; or an encoder's config (BERT, MiniLM) in
    `encoder_config` and a decoder built from the same architecture in `decoder_config` (`is_decoder` and
    `add_cross_attention` set), warm-started from the encoder's weights as transformers' `EncoderDecoderModel` does;
    the two share one word-embedding matrix (as BART's encoder and decoder do).

    Args:
        encoder_config (`dict` or `PreTrainedConfig`): the encoder's config, or a whole encoder-decoder's config.
        decoder_config (`dict` or `PreTrainedConfig`, *optional*): the decoder's config for a warm-started pair.
        entity_types (`list[str]`): entity types; type `t` is output id `2 + t`.
        target_mode (`str`, defaults to `"fragment_bounds"`): `"fragment_bounds"` points at each fragment's first
            and last word (two pointers per fragment), `"all_words"` at every word of every fragment (a contiguous
            entity of n words takes n pointers). On CADEC the first found more of the discontinuous entities
            (BENCHMARKS.md "seq2seq_targets"); models saved with either keep theirs.
        discontinuous (`bool`, defaults to `True`): entities may have several fragments. `False` (data with no
            discontinuous entities, flat or nested) makes generation write contiguous entities only.
        share_encoder_decoder (`bool`, defaults to `False`): a warm-started decoder shares the encoder's weights
            (embeddings, self-attention, feed-forward); only its cross-attention is its own.
        max_target_length (`int`, defaults to 256): the most output tokens generated per window.
        pointer_dropout (`float`, defaults to 0.1): dropout in the MLP that maps encoder word states to pointer keys.
        encoder_name (`str`, *optional*): the name or path the backbone was loaded from; cards cite it, and
            `Seq2SeqNerProcessor.from_model` loads its tokenizer.
        relation_prediction (`bool`, defaults to `False`): seeds/001's auxiliary task (RP): every pair of source
            words is classified as None, Begin-End (first and last word of one entity) or Inside (consecutive words of
            one entity), from a conditional layer normalisation of the pair; the focal loss is added to the entity
            loss with weight `relation_loss_weight`. The processor writes the pair labels when this is on.
        token_relation_attention (`bool`, defaults to `False`): seeds/001's TRA: a convolution over the word-pair
            grid, pooled per word, gives extra keys and values for the decoder's cross-attention.
        entity_type_attention (`bool`, defaults to `False`): seeds/001's ETA: type vectors (the type embeddings
            through a down/up MLP) are extra keys and values in every self-attention layer of the encoder and the
            decoder, and in the decoder's cross-attention; the type embeddings start from `entity_base`.
        gated_additions (`bool`, defaults to `True`): TRA and ETA read their vectors in a softmax of their own, added
            to each layer's attention output through `tanh(gate)`, one gate per layer and addition, starting at 0: a
            new model computes exactly the baseline and learns how much to read. `False`: seeds/001's form, the
            vectors' keys in front of the layer's own in one softmax (new random keys in pretrained attention from
            the first step). Configs saved before this field existed load as `False` (the form they were trained in).
        relation_loss_weight (`float`, defaults to 0.3): `w` in `L_entity + w * L_relation`.
        focal_alpha (`float`, defaults to 5.0) and focal_tau (`float`, defaults to 1.0): the relation focal loss
            `-alpha * (1 - p)^tau * log p` of the gold class's probability `p`.
        relation_size (`int`, defaults to 256): word states are reduced to this size before the pair grid (its
            memory is words x words x relation_size).
        type_attention_size (`int`, defaults to 512): the down projection of the type-attention MLP.
        entity_base (`dict[str, dict[str, int]]`, *optional*): per entity type, names and counts; a type embedding
            starts as the count-weighted mean embedding of its names (`Seq2SeqNerModel.init_type_embeddings`). Kept
            in the config, so a saved model records the base it was built from.

    Example:
        >>> from transformers import BertConfig
        >>> encoder = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
        >>> config = Seq2SeqNerConfig.warm_started(encoder, entity_types=["ADR"])
        >>> config.decoder_config.is_decoder, config.decoder_config.add_cross_attention, config.first_pointer_id
        (True, True, 3)
    """

    model_type = "multiner-seq2seq"
    # what the processor's targets depend on (`input_signature`)
    signature_fields = ("entity_types", "target_mode")
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder_config: dict | PreTrainedConfig | None = None
    decoder_config: dict | PreTrainedConfig | None = None
    entity_types: list[str] | None = None
    target_mode: str = "fragment_bounds"
    discontinuous: bool = True
    share_encoder_decoder: bool = False
    max_target_length: int = 256
    pointer_dropout: float = 0.1
    encoder_name: str | None = None
    relation_prediction: bool = False
    token_relation_attention: bool = False
    entity_type_attention: bool = False
    gated_additions: bool | None = None
    relation_loss_weight: float = 0.3
    focal_alpha: float = 5.0
    focal_tau: float = 1.0
    relation_size: int = 256
    type_attention_size: int = 512
    entity_base: dict | None = None
    is_encoder_decoder: bool = True

    def __post_init__(self, **kwargs: Any) -> None:
        check_extra_fields(self, kwargs)
        super().__post_init__(**kwargs)
        self.entity_types = checked_names(self, "entity_types")
        if self.gated_additions is None:  # unset in a saved config: it predates the gates
            self.gated_additions = not is_saved_config(self)
        self.is_encoder_decoder = True
        if isinstance(self.decoder_config, dict):
            # not a declared sub-config: "no decoder config" (an encoder-decoder backbone) must stay None
            self.decoder_config = AutoConfig.for_model(**self.decoder_config)
        self._check_fields()

    @classmethod
    def warm_started(cls, encoder_config: PreTrainedConfig, **kwargs: Any) -> Seq2SeqNerConfig:
        """A config whose decoder copies the encoder's architecture, with causal self-attention and cross-attention."""
        decoder_config = encoder_config.__class__.from_dict(encoder_config.to_dict())
        decoder_config.is_decoder = True
        decoder_config.add_cross_attention = True
        return cls(encoder_config=encoder_config.to_dict(), decoder_config=decoder_config, **kwargs)

    @property
    def warm_start(self) -> bool:
        """Whether the backbone is an encoder plus a decoder built from it (else one encoder-decoder model)."""
        return self.decoder_config is not None

    @property
    def hidden_size(self) -> int:
        return self.decoder_text_config.hidden_size

    @property
    def decoder_text_config(self) -> PreTrainedConfig:
        return self.decoder_config if self.warm_start else self.encoder_config

    def get_text_config(self, decoder=None, encoder=None) -> PreTrainedConfig:
        """The decoder's config sizes generation caches; the encoder's describes the inputs."""
        if encoder and not decoder:
            return self.encoder_config
        return self.decoder_text_config

    @property
    def first_pointer_id(self) -> int:
        """Output id of source word 0: after the end and start tokens and the types."""
        return FIRST_TYPE_ID + len(self.entity_types)

    @property
    def uses_relation_grid(self) -> bool:
        """Whether the model builds the word-pair grid (relation prediction or token-relation attention)."""
        return self.relation_prediction or self.token_relation_attention

    def input_signature(self) -> int:
        """A 63-bit digest of what the processor's targets depend on (entity types in order, target mode)."""
        return signature_digest(self)

    def _check_fields(self) -> None:
        limit = self.max_target_length
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
            raise ValueError(f"Seq2SeqNerConfig.max_target_length={limit!r} must be an integer of at least 2.")
        check_field_values(
            self,
            {"target_mode": TARGET_MODES},
            positive_ints=("relation_size", "type_attention_size"),
            fractions=("pointer_dropout",),
            non_negative=("relation_loss_weight", "focal_alpha", "focal_tau"),
        )
        self._check_entity_base()
        if self.encoder_config is None:
            return
        if self.share_encoder_decoder and not self.warm_start:
            raise ValueError(
                "Seq2SeqNerConfig.share_encoder_decoder=True needs a warm-started decoder (decoder_config); an "
                "encoder-decoder backbone has its own decoder."
            )
        if not self.warm_start and not getattr(self.encoder_config, "is_encoder_decoder", False):
            raise ValueError(
                f"Seq2SeqNerConfig: encoder_config ({self.encoder_config.model_type}) is an encoder only; give a "
                "decoder_config too (Seq2SeqNerConfig.warm_started(encoder_config, ...)) or an encoder-decoder's "
                "config."
            )
        positions = getattr(self.decoder_text_config, "max_position_embeddings", None)
        if positions is not None and limit > positions:
            raise ValueError(
                f"Seq2SeqNerConfig.max_target_length={limit} is more than the decoder's {positions} positions."
            )

    def _check_entity_base(self) -> None:
        base = self.entity_base
        if base is None:
            return
        if not isinstance(base, dict):
            raise ValueError(
                f"Seq2SeqNerConfig.entity_base must be a dict {{type: {{name: count}}}}, got {type(base).__name__}."
            )
        unknown = sorted(set(base) - set(self.entity_types))
        if unknown:
            raise ValueError(
                f"Seq2SeqNerConfig.entity_base has types {unknown} that are not entity types ({self.entity_types})."
            )
        for label, names in base.items():
            if not isinstance(names, dict) or not all(
                isinstance(name, str) and isinstance(count, int) and not isinstance(count, bool) and count > 0
                for name, count in names.items()
            ):
                raise ValueError(f"Seq2SeqNerConfig.entity_base[{label!r}] must map names to positive integer counts.")


__all__ = [
    "END_ID",
    "FIRST_TYPE_ID",
    "RELATION_CLASSES",
    "REMOTE_SEQ2SEQ_TASK",
    "SEQ2SEQ_TASK",
    "START_ID",
    "TARGET_MODES",
    "Seq2SeqNerConfig",
    "default_encoder_path",
]
