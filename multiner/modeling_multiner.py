"""Multi-NER: one query per entity type through a shared encoder, cross-type attention, per-type span heads."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_multiner import REMOTE_MULTINER_TASK, MultiNerConfig
from .encoders import build_encoder, load_encoder
from .hub_folders import SavesPipelineCode
from .modeling_core import (
    MASKED_LOGIT,
    CharBiRnn,
    ChecksLoading,
    SpanHeads,
    both_ends,
    check_input_signature,
    check_switch_input,
    masked_bce,
    shifted_windows,
    span_candidates,
    span_targets,
)
from .query_modes_multiner import QueryAttention, query_mode_of
from .type_attention_multiner import TYPE_ATTENTION_CLASSES, MaskedSelfAttention
from .word_features import CASING_CLASSES


@dataclass
class MultiNerOutput(ModelOutput):
    """Output of [`MultiNerModel`]. Context positions are indexed from the first context token of each window.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): weighted BCE over start, end and span match,
            returned when `labels` are given.
        start_logits (`torch.FloatTensor` of shape `[batch, context, types]`): entity-start logits.
        end_logits (`torch.FloatTensor` of shape `[batch, context, types]`): entity-end logits.
        span_logits (`torch.FloatTensor` of shape `[batch, context, max_span_length, types]`): `[b, i, k, t]`
            scores the span from context token `i` to `i + k` (inclusive) as one entity of type `t`.

    Positions that cannot start or end an entity (padding, non-initial sub-words) hold `MASKED_LOGIT`.
    """

    loss: torch.FloatTensor | None = None
    start_logits: torch.FloatTensor | None = None
    end_logits: torch.FloatTensor | None = None
    span_logits: torch.FloatTensor | None = None


class SpanCandidatesCappedWarning(UserWarning):
    """Prediction scored `MultiNerConfig.max_span_candidates` spans of a window and type and left others out."""


class MultiNerPreTrainedModel(ChecksLoading, SavesPipelineCode, PreTrainedModel):
    config_class = MultiNerConfig
    base_model_prefix = "encoder"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    # the pipeline module is imported by neither the model nor the processor: a saved folder gets it by name
    pipeline_module, pipeline_class, remote_task = "pipeline_multiner.py", "MultiNerPipeline", REMOTE_MULTINER_TASK

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.encoder_config.initializer_range
        if isinstance(module, SpanHeads):
            module.initialize(std)
        elif module is getattr(self, "casing_embedding", None) or module is getattr(self, "char_projection", None):
            init.zeros_(module.weight)  # word features start at zero: the model without them
        elif module is getattr(self.char_rnn, "embedding", None):
            init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, (MaskedSelfAttention, QueryAttention)):
            for linear in module.children():
                if isinstance(linear, nn.Linear):
                    init.normal_(linear.weight, mean=0.0, std=std)
                    init.zeros_(linear.bias)
            init.ones_(module.layer_norm.weight)
            init.zeros_(module.layer_norm.bias)


class MultiNerModel(MultiNerPreTrainedModel):
    """Multi-NER (Wang et al., 2023): NER as machine reading comprehension with one task per entity type.

    Every example comes as one `[CLS] query_t [SEP] context [SEP]` sequence per entity type `t`; all of them go through
    the encoder in one call of shape [batch·types, seq]. The context tokens of every type are gathered into a shared
    [batch, types, context, hidden] tensor, mixed by the cross-type attention, and scored by per-type heads.

    With `config.query_mode="packed"` the queries of all types form one block before the context: the block is
    encoded once per batch (it does not see the context), every window's context attends to it, and
    [`QueryAttention`] gives each type its view of the context tokens; the rest is the same.

    Example:
        >>> model = MultiNerModel.from_encoder(encoder_dir, entity_types=["PER", "LOC"])  # doctest: +SKIP
        >>> outputs = model(**batch)  # doctest: +SKIP
        >>> outputs.start_logits.shape  # [batch, context, types]  # doctest: +SKIP
    """

    def __init__(self, config: MultiNerConfig, encoder: PreTrainedModel | None = None):
        super().__init__(config)
        if not config.entity_types:
            raise ValueError(
                "MultiNerModel needs entity types: give MultiNerConfig(entity_types=[...]) or "
                "MultiNerModel.from_encoder(encoder, entity_types=['PER', 'LOC', ...])."
            )
        self.encoder = encoder if encoder is not None else build_encoder(config.encoder_config)
        # How queries and context reach the encoder: one entry of the query-mode registry.
        self.query_encoding = query_mode_of(config.query_mode).encoding(config, self.encoder)
        self.type_attention = TYPE_ATTENTION_CLASSES[config.type_attention](config)
        self.dropout = nn.Dropout(config.head_dropout)
        self.casing_embedding = None
        if config.casing_features:
            self.casing_embedding = nn.Embedding(len(CASING_CLASSES), config.encoder_config.hidden_size)
        self.char_rnn = self.char_projection = None
        if config.char_features:
            self.char_rnn = CharBiRnn(config.char_embedding_size, config.char_hidden_size)
            self.char_projection = nn.Linear(self.char_rnn.output_size, config.encoder_config.hidden_size, bias=False)
        self.heads = SpanHeads(
            1 if config.share_heads else len(config.entity_types),
            config.hidden_size,
            config.span_hidden_size,
            config.max_span_length,
            interior=config.span_features == "interior",
            dropout=config.head_dropout,
            shared_boundary=config.shared_boundary_head,
        )
        self.post_init()

    @classmethod
    def from_encoder(
        cls, encoder_name_or_path: str | None = None, entity_types: list[str] | None = None, **config_kwargs
    ) -> MultiNerModel:
        """A new Multi-NER model on top of a pretrained encoder; the heads start untrained.

        Args:
            encoder_name_or_path: a local folder or Hub name of any `AutoModel` encoder; defaults to the packaged
                all-MiniLM-L6-v2 (see `multiner.default_encoder_path`).
            entity_types: the entity types to recognise.
            **config_kwargs: any other [`MultiNerConfig`] field, e.g. `type_attention="token"`, or `**BERT_MRC`.

        Example:
            >>> model = MultiNerModel.from_encoder(entity_types=["PER", "LOC", "ORG", "MISC"])  # doctest: +SKIP
        """
        encoder, encoder_name_or_path = load_encoder(encoder_name_or_path)
        config = MultiNerConfig(
            encoder_config=encoder.config.to_dict(),
            entity_types=entity_types,
            encoder_name=encoder_name_or_path,
            **config_kwargs,
        )
        return cls(config, encoder=encoder)

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor,
        context_start: torch.LongTensor | None = None,
        context_mask: torch.Tensor | None = None,
        start_mask: torch.Tensor | None = None,
        end_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        entity_type_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        query_input_ids: torch.LongTensor | None = None,
        query_token_type_ids: torch.LongTensor | None = None,
        query_spans: torch.LongTensor | None = None,
        span_threshold: float | None = None,
        casing_ids: torch.LongTensor | None = None,
        char_ids: torch.LongTensor | None = None,
        input_signature: torch.LongTensor | None = None,
        return_dict: bool | None = None,
    ) -> MultiNerOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `[batch, types, seq]`): one query + context sequence per type;
                in the packed query mode `[batch, seq]`, the context segment of each window.
            attention_mask (`torch.Tensor` of the shape of `input_ids`).
            context_start (`torch.LongTensor` of shape `[batch, types]`): position of the first context token in
                each sequence (per-type mode only).
            context_mask (`torch.Tensor` of shape `[batch, context]`): 1 on context tokens, 0 on padding.
            start_mask, end_mask (`torch.Tensor` of shape `[batch, context]`): 1 where an entity may start (the
                first sub-token of a word) or end (the last sub-token of a word).
            token_type_ids (`torch.LongTensor` of the shape of `input_ids`, *optional*).
            entity_type_ids (`torch.LongTensor` of shape `[types]`, *optional*): which of `config.entity_types` the
                type axis holds, in order; all of them by default.
            labels (`torch.LongTensor` of shape `[batch, entities, 3]`, *optional*): gold entities as
                (type position, first context token, last context token), padded with -100.
            query_input_ids (`torch.LongTensor` of shape `[batch, block]`): packed mode: the block of all queries,
                the same in every row (encoded once).
            query_token_type_ids (`torch.LongTensor` of shape `[batch, block]`, *optional*): packed mode.
            query_spans (`torch.LongTensor` of shape `[batch, types, 2]`): packed mode: where each type's query
                tokens lie in the block, [start, stop).
            span_threshold (`float`, *optional*): score only the spans whose start and end probabilities both
                exceed it (the rest get `MASKED_LOGIT`); decoding at this threshold or above finds the same entities
                for much less work. The pipeline passes its threshold. Ignored when `labels` are given.
            casing_ids (`torch.LongTensor` of shape `[batch, context]`): each context token's casing class; required
                with `config.casing_features` (the processor writes it), 0 on padding.
            char_ids (`torch.LongTensor` of shape `[batch, context, characters]`): the character ids of each context
                token's whole word (`word_features.word_chars`), 0 padding; required with `config.char_features`.
            input_signature (`torch.LongTensor` of shape `[batch]`, *optional*): the processor's
                `config.input_signature()`; inputs built for other entity types (or their order), another query mode
                or span length are refused.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if context_mask is None or start_mask is None or end_mask is None:
            raise ValueError("context_mask, start_mask and end_mask are required; the processor builds them.")
        check_input_signature(self.config, input_signature, "MultiNerProcessor")
        hidden = self.query_encoding(
            self.encoder,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            context_length=context_mask.shape[1],
            context_start=context_start,
            query_input_ids=query_input_ids,
            query_token_type_ids=query_token_type_ids,
            query_spans=query_spans,
        )  # [batch, types, context, hidden]
        check_switch_input(self.config, "casing_features", casing_ids, "casing_ids", "MultiNerProcessor")
        if self.casing_embedding is not None:
            hidden = hidden + self.casing_embedding(casing_ids)[:, None]
        check_switch_input(self.config, "char_features", char_ids, "char_ids", "MultiNerProcessor")
        if self.char_rnn is not None:
            chars = self.char_rnn(char_ids, hidden.shape[2]).to(hidden.dtype)  # [batch, context, 2 * char hidden]
            hidden = hidden + self.char_projection(chars)[:, None]
        types = hidden.shape[1]
        every_type = entity_type_ids is None  # every type in the config's order: type t reads head set t
        entity_type_ids = self._check_entity_type_ids(entity_type_ids, types, input_ids.device)
        hidden = self.type_attention(hidden, context_mask)  # [batch, types, context, hidden]
        hidden = self.dropout(hidden)

        if self.config.share_heads:
            head_index = torch.zeros_like(entity_type_ids)
        else:
            head_index = None if every_type else entity_type_ids
        start_logits, end_logits = self.heads.boundaries(hidden, head_index)

        start_mask, end_mask = start_mask.bool(), end_mask.bool()
        span_mask = both_ends(start_mask, end_mask, self.config.max_span_length)
        loss = None
        if labels is not None:
            targets = self._targets(labels, start_logits.shape, self.config.max_span_length)
            candidates = self._span_candidates(start_logits > 0, end_logits > 0, span_mask, targets)
            # Training reads the span scores of the loss's candidates only; evaluation gets them all.
            scored = candidates if self.training and self.config.span_candidates == "pred_and_gold" else None
            span_logits = self.heads.spans(hidden, head_index, scored)
            weight = self._positive_weight(entity_type_ids)
            loss = self._loss(start_logits, end_logits, span_logits, start_mask, end_mask, candidates, targets, weight)
        elif span_threshold is not None:
            if not 0.0 <= span_threshold < 1.0:
                raise ValueError(f"span_threshold={span_threshold!r} must be a probability in [0, 1).")
            floor = math.log(span_threshold / (1.0 - span_threshold)) if span_threshold > 0 else -math.inf
            candidates = self._span_candidates(start_logits > floor, end_logits > floor, span_mask)
            candidates = self._capped(candidates, start_logits, end_logits)
            span_logits = self.heads.spans(hidden, head_index, candidates)
        else:
            span_logits = self.heads.spans(hidden, head_index)

        start_logits = start_logits.masked_fill(~start_mask[:, :, None], MASKED_LOGIT)
        end_logits = end_logits.masked_fill(~end_mask[:, :, None], MASKED_LOGIT)
        span_logits = span_logits.masked_fill(~span_mask[..., None], MASKED_LOGIT)
        output = MultiNerOutput(loss=loss, start_logits=start_logits, end_logits=end_logits, span_logits=span_logits)
        return output if return_dict else output.to_tuple()

    def _check_entity_type_ids(
        self, entity_type_ids: torch.Tensor | None, types: int, device: torch.device
    ) -> torch.Tensor:
        known = len(self.config.entity_types)
        if entity_type_ids is None:
            if types != known:
                raise ValueError(
                    f"The inputs hold {types} entity types but the model knows {known} ({self.config.entity_types}); "
                    "build the inputs with a processor of the same entity_types, or pass entity_type_ids."
                )
            return torch.arange(types, device=device)
        if entity_type_ids.shape != (types,) or entity_type_ids.min() < 0 or entity_type_ids.max() >= known:
            raise ValueError(
                f"entity_type_ids must hold {types} indices into the model's {known} entity types, "
                f"got {entity_type_ids.tolist()}."
            )
        return entity_type_ids.to(device)

    def _span_candidates(
        self,
        start_predicted: torch.Tensor,
        end_predicted: torch.Tensor,
        span_mask: torch.Tensor,
        targets: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """[batch, context, max_span, types]: `modeling_core.span_candidates` (both ends predicted, or with
        `targets` under "pred_and_gold" both gold); every valid span under "all"."""
        if targets is not None and self.config.span_candidates == "all":
            return span_mask[..., None].expand(-1, -1, -1, start_predicted.shape[-1])
        return span_candidates(start_predicted, end_predicted, span_mask, targets)

    def _capped(self, candidates: torch.Tensor, start_logits: torch.Tensor, end_logits: torch.Tensor) -> torch.Tensor:
        """At most `config.max_span_candidates` of `candidates` [batch, context, max_span, types] per window and
        type: those of the most probable start and end. Unchanged below the cap; what the cap leaves out is counted
        in a `SpanCandidatesCappedWarning`."""
        cap = self.config.max_span_candidates
        batch, context, span_size, types = candidates.shape
        if cap >= context * span_size:  # the window cannot hold more spans than the cap
            return candidates
        flat = candidates.permute(0, 3, 1, 2).reshape(batch, types, context * span_size)
        counts = flat.sum(-1)
        if int(counts.max()) <= cap:
            return candidates
        rank = F.logsigmoid(start_logits.float())[:, :, None] + shifted_windows(
            F.logsigmoid(end_logits.float()), span_size, dim=1
        )
        rank = rank.masked_fill(~candidates, -math.inf).permute(0, 3, 1, 2).reshape(batch, types, -1)
        kept = torch.zeros_like(flat).scatter_(-1, rank.topk(cap, dim=-1).indices, True) & flat
        left_out = int((counts - cap).clamp(min=0).sum())
        warnings.warn(
            f"{left_out} span candidates over max_span_candidates={cap} per type and window were not scored (the "
            f"most probable {cap} were): the model is unsure here, and a span among those left out could have "
            "been an entity. Raise MultiNerConfig.max_span_candidates to score more, at more time and memory.",
            SpanCandidatesCappedWarning,
            stacklevel=3,
        )
        return kept.reshape(batch, types, context, span_size).permute(0, 2, 3, 1)

    def _loss(
        self,
        start_logits: torch.Tensor,
        end_logits: torch.Tensor,
        span_logits: torch.Tensor,
        start_mask: torch.Tensor,
        end_mask: torch.Tensor,
        candidates: torch.Tensor,
        targets: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        weight: float | torch.Tensor,
    ) -> torch.Tensor:
        start_gold, end_gold, span_gold = targets
        types = start_logits.shape[-1]
        start_loss = masked_bce(start_logits, start_gold, start_mask[:, :, None].expand(-1, -1, types), weight)
        end_loss = masked_bce(end_logits, end_gold, end_mask[:, :, None].expand(-1, -1, types), weight)
        span_loss = masked_bce(span_logits, span_gold, candidates, weight)
        return (
            self.config.start_loss_weight * start_loss
            + self.config.end_loss_weight * end_loss
            + self.config.span_loss_weight * span_loss
        )

    def _positive_weight(self, entity_type_ids: torch.Tensor) -> float | torch.Tensor:
        """`config.positive_weight`: one number, or each type's on the inputs' type axis ([types])."""
        weight = self.config.positive_weight
        if not isinstance(weight, list):
            return weight
        return torch.tensor(weight, device=entity_type_ids.device)[entity_type_ids]

    @staticmethod
    def _targets(
        labels: torch.Tensor, shape: torch.Size, max_span_length: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Dense 0/1 targets from gold (type, first, last) triples: start/end [batch, context, types] and span
        [batch, context, max_span, types]."""
        batch, context, types = shape
        valid = labels[..., 0] >= 0
        rows = torch.arange(batch, device=labels.device)[:, None].expand(-1, labels.shape[1])[valid]
        type_pos, first, last = labels[valid].unbind(-1)
        width = last - first
        if valid.any() and (
            type_pos.max() >= types
            or first.min() < 0
            or last.max() >= context
            or width.min() < 0
            or width.max() >= max_span_length
        ):
            raise ValueError(
                "labels hold an entity outside the inputs: each must be (type < types, 0 <= first <= last < context, "
                f"last - first < max_span_length={max_span_length}); the processor builds valid labels."
            )
        return span_targets(rows, first, last, type_pos, shape, max_span_length)


__all__ = [
    "MASKED_LOGIT",
    "MultiNerModel",
    "MultiNerOutput",
    "MultiNerPreTrainedModel",
    "SpanCandidatesCappedWarning",
]
