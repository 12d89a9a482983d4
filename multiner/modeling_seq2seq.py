"""The seq2seq pointer model: an encoder-decoder whose every output step is a distribution over [end; start; entity
types; source words], from dot products of the decoder state with type embeddings and with the encoder's word
states (no vocabulary head). Flat, nested and discontinuous entities are all sequences of pointers and types.

seeds/001's three additions are config switches: relation prediction over word pairs (RP), token-relation attention
(TRA: pair-grid vectors read by the decoder's cross-attention) and entity-type attention (ETA: type vectors read by
every attention layer). Off, each leaves the baseline's computation as it was; on, TRA and ETA enter through gates
that start closed (`gated_additions`), so a new model computes the baseline's logits until training opens them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoModel,
    AutoTokenizer,
    GenerationMixin,
    LogitsProcessorList,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.modeling_outputs import Seq2SeqLMOutput
from transformers.utils import ModelOutput

from .configuration_seq2seq import (
    END_ID,
    FIRST_TYPE_ID,
    REMOTE_SEQ2SEQ_TASK,
    START_ID,
    Seq2SeqNerConfig,
)
from .encoders import default_encoder_path, encoder_kwargs
from .hub_folders import SavesPipelineCode
from .modeling_core import LABEL_PAD, ChecksLoading, check_input_signature
from .multitask_seq2seq import AttentionMemory, WordPairGrid, focal_loss, mark_attention_layers
from .targets_seq2seq import PointerConstraintLogitsProcessor
from .transformers_compat import CACHE_FIELD, call_with_cache, output_cache, pop_cache

# Logit of an output that cannot be chosen here (padding words, the start token): exp() of it is 0 in float32 and
# it stays finite, so no NaN gradients.
UNREACHABLE = -1.0e4


@dataclass
class PointerEncoderOutput(ModelOutput):
    """The encoder's side of [`Seq2SeqNerModel`], computed once per input (and kept by `generate`).

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `[batch, seq, encoder hidden]`): token states; the decoder's
            cross-attention reads them.
        word_keys (`torch.FloatTensor` of shape `[batch, words, decoder hidden]`): what a pointer to each word is
            scored against: an MLP of the word's first-token state averaged with that token's embedding (BARTNER).
        word_embeddings (`torch.FloatTensor` of shape `[batch, words, decoder hidden]`): the decoder's input
            embedding of each word's first token, fed back when a pointer to the word was written.
        word_mask (`torch.BoolTensor` of shape `[batch, words]`): real words (not padding).
        relation_logits (`torch.FloatTensor` of shape `[batch, words, words, 3]`, *optional*): scores of None,
            Begin-End and Inside per word pair (relation prediction, when asked for).
        relation_memory (`torch.FloatTensor` of shape `[batch, words, encoder hidden]`, *optional*): the
            token-relation attention's extra cross-attention input, one vector per word.
    """

    last_hidden_state: torch.FloatTensor | None = None
    word_keys: torch.FloatTensor | None = None
    word_embeddings: torch.FloatTensor | None = None
    word_mask: torch.BoolTensor | None = None
    relation_logits: torch.FloatTensor | None = None
    relation_memory: torch.FloatTensor | None = None


@dataclass
class Seq2SeqNerOutput(Seq2SeqLMOutput):
    """Output of [`Seq2SeqNerModel`]: transformers' `Seq2SeqLMOutput`, whose decoder cache field is named as the
    installed release names it (`transformers_compat.CACHE_FIELD`: `past_key_values` before 5.24, `cache` from it),
    plus the two loss terms of relation prediction.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): mean cross-entropy of the target ids (with labels),
            plus `relation_loss_weight` times the relation loss with relation prediction.
        logits (`torch.FloatTensor` of shape `[batch, steps, 2 + types + words]`): scores of [end; start; types;
            source words] at each decoder step (start and padding words at a large negative value).
        encoder_last_hidden_state (`torch.FloatTensor` of shape `[batch, seq, hidden]`, *optional*).
        entity_loss, relation_loss (`torch.FloatTensor` of shape `()`, *optional*): the two terms (relation
            prediction only).
    """

    entity_loss: torch.FloatTensor | None = None
    relation_loss: torch.FloatTensor | None = None


class Seq2SeqNerPreTrainedModel(ChecksLoading, SavesPipelineCode, PreTrainedModel):
    config_class = Seq2SeqNerConfig
    base_model_prefix = "seq2seq"
    main_input_name = "input_ids"
    _supports_sdpa = True
    # the pipeline module is imported by neither the model nor the processor: a saved folder gets it by name
    pipeline_module, pipeline_class, remote_task = "pipeline_seq2seq.py", "Seq2SeqNerPipeline", REMOTE_SEQ2SEQ_TASK
    # what starts untrained: the pointer's parts, relation prediction (RP, TRA), type attention (ETA) and a
    # warm-started decoder's cross-attention; the rest is the pretrained backbone (`training_core.head_optimizer`)
    new_parameters = (
        "pointer_mlp.",
        "type_embeddings.",
        "special_embeddings.",
        "crossattention.",
        "relation_grid.",
        "type_attention.",
        "addition_gates",
    )
    # scalar gates: no weight decay, and a learning rate of their own if the optimizer is given one
    gate_parameters = ("addition_gates",)

    def is_pretrained_parameter(self, name: str) -> bool:
        return not any(part in name for part in self.new_parameters)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = getattr(self.config.encoder_config, "initializer_range", None) or 0.02
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d):
            init.normal_(module.weight, mean=0.0, std=std)
            init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        if getattr(module, "addition_gates", None) is not None:
            init.zeros_(module.addition_gates)  # closed: TRA and ETA start as the baseline


class Seq2SeqNerModel(Seq2SeqNerPreTrainedModel, GenerationMixin):
    """Pointer seq2seq NER (the BARTNER kind; the baseline of seeds/001) over an encoder-decoder or a warm-started
    encoder pair.

    Each target is, per entity, pointers to its words and then its type token, and finally the end token (see
    `targets_seq2seq`). A decoder input token is embedded as what it points at: a source word's first-token embedding,
    a learned type embedding (initialised from the type name's word embeddings by `from_encoder`), or a learned
    end / start embedding. `generate()` is transformers' own (greedy or beam search), constrained by default to
    well-formed outputs with [`PointerConstraintLogitsProcessor`].

    Example:
        >>> model = Seq2SeqNerModel.from_encoder(entity_types=["ADR"])  # doctest: +SKIP
        >>> model(**batch).logits.shape  # [batch, steps, 2 + types + words]  # doctest: +SKIP
        >>> model.generate(**processor(["My legs ache."]))  # doctest: +SKIP
    """

    def __init__(self, config: Seq2SeqNerConfig, backbone: nn.Module | None = None):
        super().__init__(config)
        if not config.entity_types:
            raise ValueError(
                "Seq2SeqNerModel needs entity types: give Seq2SeqNerConfig(entity_types=[...]) or "
                "Seq2SeqNerModel.from_encoder(entity_types=[...])."
            )
        if config.warm_start:
            self.encoder = backbone if backbone is not None else _build(config.encoder_config)
            # the decoder's config is no declared sub-config: it takes the attention implementation from here
            self.decoder = _build(config.decoder_config, attn_implementation=config._attn_implementation)
        else:
            self.seq2seq = backbone if backbone is not None else AutoModel.from_config(config.encoder_config)
        hidden = config.hidden_size
        encoder_hidden = config.encoder_config.hidden_size if config.warm_start else hidden
        self.pointer_mlp = nn.Sequential(
            nn.Linear(encoder_hidden, hidden), nn.Dropout(config.pointer_dropout), nn.ReLU(), nn.Linear(hidden, hidden)
        )
        self.special_embeddings = nn.Embedding(2, hidden)  # end, start
        self.type_embeddings = nn.Embedding(len(config.entity_types), hidden)
        self.relation_grid = None
        if config.uses_relation_grid:
            self.relation_grid = WordPairGrid(config, encoder_hidden, encoder_hidden)
        self.type_attention = None
        if config.entity_type_attention:
            if encoder_hidden != hidden:
                raise ValueError(
                    f"entity_type_attention needs encoder and decoder of one hidden size, got {encoder_hidden} and "
                    f"{hidden}."
                )
            # seeds/001's proj_down / proj_up MLP: type embeddings -> the type vectors every attention layer reads
            self.type_attention = nn.Sequential(
                nn.Linear(hidden, config.type_attention_size), nn.Tanh(), nn.Linear(config.type_attention_size, hidden)
            )
        self.addition_gates = None
        if config.entity_type_attention or config.token_relation_attention:
            backbones = [self.encoder, self.decoder] if config.warm_start else [self.seq2seq]
            self_layers, cross_layers = mark_attention_layers(backbones)
            if cross_layers == 0 or (config.entity_type_attention and self_layers == 0):
                raise ValueError(
                    "entity_type_attention and token_relation_attention need a backbone whose attention layers have "
                    "key/value projections (BERT-like `key`/`value` or BART-like `k_proj`/`v_proj`); this one has "
                    f"{self_layers} self- and {cross_layers} cross-attention layers with them."
                )
            if config.gated_additions:
                self.addition_gates = nn.Parameter(torch.zeros(self_layers + cross_layers, 2))
        if config.warm_start:
            # {decoder weight: encoder weight}, tied in post_init and from_pretrained; saving reads this attribute to
            # store each shared weight once
            self._tied_weights_keys = _shared_decoder_keys(self.encoder, self.decoder, config.share_encoder_decoder)
        self.post_init()

    @classmethod
    def from_encoder(
        cls, encoder_name_or_path: str | None = None, entity_types: list[str] | None = None, **config_kwargs
    ) -> Seq2SeqNerModel:
        """A new model warm-started from a pretrained encoder (the packaged all-MiniLM-L6-v2 by default): the encoder,
        and a decoder of the same weights with new cross-attention; type embeddings start as the mean embedding of
        each type name's tokens (underscores read as spaces). A name or path of an encoder-decoder model (BART, T5)
        is used whole instead.

        Example:
            >>> model = Seq2SeqNerModel.from_encoder(entity_types=["ADR"],
            ...                                      target_mode="fragment_bounds")  # doctest: +SKIP
        """
        path = str(encoder_name_or_path or default_encoder_path())
        loaded = AutoModel.from_pretrained(path)
        if getattr(loaded.config, "is_encoder_decoder", False):
            config = Seq2SeqNerConfig(
                encoder_config=loaded.config.to_dict(), entity_types=entity_types, encoder_name=path, **config_kwargs
            )
            model = cls(config, backbone=loaded)
        else:
            if encoder_kwargs(loaded.config):
                loaded.pooler = None
            config = Seq2SeqNerConfig.warm_started(
                loaded.config, entity_types=entity_types, encoder_name=path, **config_kwargs
            )
            model = cls(config, backbone=loaded)
            own = {name: value for name, value in loaded.state_dict().items() if not name.startswith("pooler.")}
            missing, unexpected = model.decoder.load_state_dict(own, strict=False)
            if unexpected or any("crossattention" not in name for name in missing):
                raise ValueError(f"The decoder could not be warm-started from {path}: missing {missing}.")
            model.tie_weights()
        tokenizer = AutoTokenizer.from_pretrained(path)
        model.init_type_embeddings(tokenizer)
        return model

    @torch.no_grad()
    def init_type_embeddings(self, tokenizer) -> None:
        """Each type embedding as the mean decoder input embedding of its name's tokens (BARTNER's label tokens); a
        type with names in `config.entity_base` instead as the count-weighted mean of its names' embeddings (a name's
        embedding: the mean of its tokens'), seeds/001 eq. 8."""
        embeddings = self.get_decoder().get_input_embeddings()
        device = embeddings.weight.device
        base = self.config.entity_base or {}

        def embedded(text: str) -> torch.Tensor | None:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            return embeddings(torch.tensor(ids, device=device)).mean(dim=0) if ids else None

        for position, label in enumerate(self.config.entity_types):
            named = [(embedded(name), count) for name, count in (base.get(label) or {}).items()]
            named = [(vector, count) for vector, count in named if vector is not None]
            if named:
                weights = torch.tensor([count for _, count in named], dtype=torch.float, device=device)
                vectors = torch.stack([vector for vector, _ in named])
                self.type_embeddings.weight[position] = (weights / weights.sum()) @ vectors
            elif (vector := embedded(label.replace("_", " "))) is not None:
                self.type_embeddings.weight[position] = vector

    def get_expanded_tied_weights_keys(self, all_submodels: bool = False) -> dict:
        """transformers' tied weights, plus (with `share_encoder_decoder`) every decoder weight the encoder has too:
        tied in `post_init` and `from_pretrained`, saved once."""
        keys = super().get_expanded_tied_weights_keys(all_submodels=all_submodels)
        # transformers ties `_tied_weights_keys` only where the config says tie_word_embeddings
        keys.update(self._tied_weights_keys or {})
        return keys

    def get_encoder(self, modality: str | None = None) -> _PointerEncoder:
        return _PointerEncoder(self)

    def get_decoder(self) -> nn.Module:
        return self.decoder if self.config.warm_start else self.seq2seq.get_decoder()

    def _backbone_encoder(self) -> nn.Module:
        return self.encoder if self.config.warm_start else self.seq2seq.get_encoder()

    def encode(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        word_index: torch.LongTensor | None = None,
        relation_logits: bool = False,
    ) -> PointerEncoderOutput:
        """Token states and the pointer keys of each word (and the word-pair outputs the config asks for).

        Args:
            input_ids, attention_mask (`[batch, seq]`): the source window.
            word_index (`torch.LongTensor` of shape `[batch, words]`): position of each word's first token, -1 for
                padding words.
            relation_logits (`bool`): also classify every word pair (relation prediction; training).
        """
        if word_index is None:
            raise ValueError("word_index is required (the first token of each source word); the processor builds it.")
        states = self._backbone_encoder()(
            input_ids=input_ids, attention_mask=attention_mask, **self._memory_kwargs()
        ).last_hidden_state
        word_mask = word_index >= 0
        index = word_index.clamp(min=0)
        word_states = states.gather(1, index[:, :, None].expand(-1, -1, states.size(-1)))  # [batch, words, hidden]
        word_token_ids = input_ids.gather(1, index)  # [batch, words]
        word_embeddings = self.get_decoder().get_input_embeddings()(word_token_ids)
        word_keys = (self.pointer_mlp(word_states) + word_embeddings) / 2
        pair_logits = relation_memory = None
        if self.relation_grid is not None:
            pair_logits, relation_memory = self.relation_grid(word_states, word_mask, classify=relation_logits)
        return PointerEncoderOutput(
            last_hidden_state=states,
            word_keys=word_keys,
            word_embeddings=word_embeddings,
            word_mask=word_mask,
            relation_logits=pair_logits,
            relation_memory=relation_memory,
        )

    def _memory_kwargs(self, encoder_outputs: PointerEncoderOutput | None = None) -> dict:
        """Backbone keyword arguments that carry the type vectors (ETA) and, to the decoder, the relation vectors
        (TRA, from `encoder_outputs`) down to `attention_with_memory`; none without either switch."""
        types = None if self.type_attention is None else self.type_attention(self.type_embeddings.weight)[None]
        relations = None if encoder_outputs is None else encoder_outputs.relation_memory
        if types is None and relations is None:
            return {}
        memory = AttentionMemory(
            type_vectors=types,
            relation_vectors=relations,
            relation_mask=None if relations is None else encoder_outputs.word_mask,
            gates=self.addition_gates,
        )
        return {"multiner_memory": memory}

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        word_index: torch.LongTensor | None = None,
        decoder_input_ids: torch.LongTensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: PointerEncoderOutput | None = None,
        use_cache: bool | None = None,
        labels: torch.LongTensor | None = None,
        relation_labels: torch.LongTensor | None = None,
        input_signature: torch.LongTensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> Seq2SeqNerOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask (`torch.LongTensor` of shape `[batch, seq]`): source windows.
            word_index (`torch.LongTensor` of shape `[batch, words]`): first token of each source word, -1 padding.
            decoder_input_ids (`torch.LongTensor` of shape `[batch, steps]`, *optional*): output ids fed to the
                decoder; by default the labels shifted right behind the start token.
            encoder_outputs ([`PointerEncoderOutput`], *optional*): a previous `encode` (generation keeps it).
            The decoder's cache comes as a keyword argument, by the name the installed transformers gives it
            (`past_key_values` before 5.24, `cache` from it; see `transformers_compat`).
            labels (`torch.LongTensor` of shape `[batch, steps]`, *optional*): target ids, padded with -100.
            relation_labels (`torch.LongTensor` of shape `[batch, words, words]`, *optional*): per word pair its
                class in `RELATION_CLASSES`, -100 where a word is padding; required with labels when
                `relation_prediction` is on (the processor writes them).
            input_signature (`torch.LongTensor` of shape `[batch]`, *optional*): the processor's
                `config.input_signature()`; inputs built for another configuration are refused.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        check_input_signature(self.config, input_signature, "Seq2SeqNerProcessor")
        predicts_relations = self.config.relation_prediction and labels is not None
        if predicts_relations and relation_labels is None:
            raise ValueError(
                "This model has relation_prediction=True: training inputs need relation_labels (word-pair classes) "
                "beside labels. Build them with Seq2SeqNerProcessor.from_model(model).preprocess and its collator."
            )
        if encoder_outputs is None:
            encoder_outputs = self.encode(input_ids, attention_mask, word_index, relation_logits=predicts_relations)
        if decoder_input_ids is None:
            if labels is None:
                raise ValueError("Give labels (training) or decoder_input_ids; for predictions use generate().")
            decoder_input_ids = shift_right(labels)
        decoder_states = call_with_cache(
            self.get_decoder(),
            pop_cache(kwargs),
            inputs_embeds=self._embed_outputs(decoder_input_ids, encoder_outputs),
            attention_mask=decoder_attention_mask,
            encoder_hidden_states=encoder_outputs.last_hidden_state,
            encoder_attention_mask=attention_mask,
            use_cache=use_cache,
            **self._memory_kwargs(encoder_outputs),
        )
        logits = self._output_logits(decoder_states.last_hidden_state, encoder_outputs)
        loss = entity_loss = relation_loss = None
        if labels is not None:
            loss = entity_loss = F.cross_entropy(
                logits.flatten(0, 1).float(), labels.flatten(), ignore_index=LABEL_PAD
            )
        if predicts_relations:
            relation_loss = focal_loss(
                encoder_outputs.relation_logits.flatten(0, 2),
                relation_labels.flatten(),
                self.config.focal_alpha,
                self.config.focal_tau,
            )
            loss = entity_loss + self.config.relation_loss_weight * relation_loss
        output = Seq2SeqNerOutput(
            loss=loss,
            logits=logits,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            **{CACHE_FIELD: output_cache(decoder_states)},
            entity_loss=entity_loss if predicts_relations else None,
            relation_loss=relation_loss,
        )
        return output if return_dict else output.to_tuple()

    def _embed_outputs(self, ids: torch.LongTensor, encoder_outputs: PointerEncoderOutput) -> torch.Tensor:
        """Decoder inputs `[batch, steps, hidden]` for output ids: what each id stands for."""
        ids = ids.masked_fill(ids == LABEL_PAD, END_ID)
        first_pointer = self.config.first_pointer_id
        is_special = ids < FIRST_TYPE_ID
        is_type = (ids >= FIRST_TYPE_ID) & (ids < first_pointer)
        special = self.special_embeddings(ids.clamp(max=START_ID))
        types = self.type_embeddings((ids - FIRST_TYPE_ID).clamp(0, len(self.config.entity_types) - 1))
        words = (ids - first_pointer).clamp(0, encoder_outputs.word_embeddings.size(1) - 1)
        embeddings = encoder_outputs.word_embeddings
        pointed = embeddings.gather(1, words[:, :, None].expand(-1, -1, embeddings.size(-1)))
        return torch.where(is_special[..., None], special, torch.where(is_type[..., None], types, pointed))

    def _output_logits(self, states: torch.Tensor, encoder_outputs: PointerEncoderOutput) -> torch.Tensor:
        """Scores `[batch, steps, 2 + types + words]` of [end; start; types; words] for decoder states."""
        special = states @ self.special_embeddings.weight.T  # [batch, steps, 2]
        special[..., START_ID] = UNREACHABLE
        types = states @ self.type_embeddings.weight.T  # [batch, steps, types]
        words = torch.einsum("bsh,bwh->bsw", states, encoder_outputs.word_keys)
        words = words.masked_fill(~encoder_outputs.word_mask[:, None, :], UNREACHABLE)
        return torch.cat([special, types, words], dim=-1)

    def generate(self, input_ids=None, word_index=None, constrained: bool = True, **kwargs):
        """transformers' `generate` with the output ids of this model: start, end and padding ids set, and (unless
        `constrained=False`) a [`PointerConstraintLogitsProcessor`] so that every output is well formed. Defaults:
        greedy, at most `config.max_target_length` new tokens; `num_beams=4` etc. pass through."""
        if word_index is None:
            raise ValueError(
                "generate needs word_index (the first token of each source word); the processor builds it."
            )
        if constrained:
            words = (word_index >= 0).sum(dim=1)
            constraint = PointerConstraintLogitsProcessor(
                len(self.config.entity_types), words, self.config.target_mode, self.config.discontinuous
            )
            kwargs["logits_processor"] = LogitsProcessorList([constraint, *kwargs.get("logits_processor", [])])
        kwargs.setdefault("max_new_tokens", self.config.max_target_length)
        return super().generate(
            input_ids=input_ids,
            word_index=word_index,
            decoder_start_token_id=START_ID,
            bos_token_id=START_ID,
            eos_token_id=END_ID,
            pad_token_id=END_ID,
            **kwargs,
        )


class _PointerEncoder:
    """What `generate` calls as the model's encoder: `Seq2SeqNerModel.encode` with generate's keyword arguments."""

    def __init__(self, model: Seq2SeqNerModel):
        self.model = model

    def forward(self, input_ids=None, attention_mask=None, word_index=None, **kwargs) -> PointerEncoderOutput:
        return self.model.encode(input_ids, attention_mask, word_index)

    __call__ = forward


def shift_right(labels: torch.LongTensor) -> torch.LongTensor:
    """Decoder inputs for targets: the start token, then the targets less their last step (padding kept as -100)."""
    start = torch.full_like(labels[:, :1], START_ID)
    return torch.cat([start, labels[:, :-1]], dim=1)


def _build(backbone_config, **kwargs) -> nn.Module:
    return AutoModel.from_config(backbone_config, **encoder_kwargs(backbone_config), **kwargs)


def _shared_decoder_keys(encoder: nn.Module, decoder: nn.Module, everything: bool) -> dict[str, str]:
    """`{decoder parameter: encoder parameter}` of the weights a warm-started decoder takes from the encoder: the word
    embeddings always (one vocabulary matrix, as BART shares its embeddings), and with `everything` every parameter
    the encoder has too (all but cross-attention)."""
    encoder_names = {name for name, _ in encoder.named_parameters()}
    embedding = decoder.get_input_embeddings().weight
    return {
        f"decoder.{name}": f"encoder.{name}"
        for name, parameter in decoder.named_parameters()
        if name in encoder_names and (everything or parameter is embedding)
    }


__all__ = ["PointerEncoderOutput", "Seq2SeqNerModel", "Seq2SeqNerOutput", "Seq2SeqNerPreTrainedModel", "shift_right"]
