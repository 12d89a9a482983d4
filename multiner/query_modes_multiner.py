"""Multi-NER's query modes: the one dispatch point for how queries and context become the encoder's sequences.

A query mode pairs three things, looked up by `config.query_mode` in `QUERY_MODES`:
- a **layout** (processor side): the token ids of every window's sequences, built from the tokenized queries;
- an **encoding** (model side): an `nn.Module` turning those sequences into per-type context states
  `[batch, types, context, hidden]`, which the type attention and the span heads take from there;
- the **collator fields**: which inputs are padded sequences (with or without a type axis), which are blocks shared by
  every row, and which are fixed-size arrays.

Adding a mode is one layout class, one encoding class and one `QueryMode` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import DynamicCache, PreTrainedModel

from .transformers_compat import cache_keyword, call_with_cache

if TYPE_CHECKING:
    from .configuration_multiner import MultiNerConfig

# ----------------------------------------------------------------------------------------------- processor side


@dataclass(frozen=True)
class QueryLayout:
    """Special tokens and query of one entity type: sequence = head + context + tail; the query's own tokens are
    head[query_start:query_stop] (before them the start tokens, after them the separator)."""

    head_ids: list[int]
    head_type_ids: list[int]
    context_type_id: int
    tail_ids: list[int]
    tail_type_ids: list[int]
    query_start: int
    query_stop: int


def query_layout(tokenizer, query: str) -> QueryLayout:
    """Where a tokenizer puts a query and a context in a `(query, context)` pair: read from the pair `(query, "x")`."""
    encoding = tokenizer(query, "x")
    sequence_ids = encoding.sequence_ids()
    context_positions = [position for position, sequence in enumerate(sequence_ids) if sequence == 1]
    first, last = context_positions[0], context_positions[-1]
    ids = encoding["input_ids"]
    type_ids = encoding.get("token_type_ids") or [0] * len(ids)
    query_positions = [position for position, sequence in enumerate(sequence_ids) if sequence == 0]
    return QueryLayout(
        ids[:first],
        type_ids[:first],
        type_ids[first],
        ids[last + 1 :],
        type_ids[last + 1 :],
        query_positions[0],
        query_positions[-1] + 1,
    )


class PerTypeLayout:
    """query_mode "per_type": one `head + context + tail` sequence per entity type."""

    def __init__(self, layouts: dict[str, QueryLayout], with_type_ids: bool):
        self.layouts, self.with_type_ids = layouts, with_type_ids
        longest = max(layouts, key=lambda name: len(layouts[name].head_ids))
        # tokens of every sequence that are not context: the longest head and tail
        self.taken = len(layouts[longest].head_ids) + max(len(layout.tail_ids) for layout in layouts.values())
        self.taker = f"The query of {longest!r} takes"

    def features(self, context_ids: list[int], entity_types: list[str]) -> dict[str, list]:
        input_ids, token_type_ids, context_start = [], [], []
        for name in entity_types:
            layout = self.layouts[name]
            input_ids.append(layout.head_ids + context_ids + layout.tail_ids)
            token_type_ids.append(
                layout.head_type_ids + [layout.context_type_id] * len(context_ids) + layout.tail_type_ids
            )
            context_start.append(len(layout.head_ids))
        features = {"input_ids": input_ids, "context_start": context_start}
        if self.with_type_ids:
            features["token_type_ids"] = token_type_ids
        return features


class PackedLayout:
    """query_mode "packed": one block of all queries (start tokens, then each query and its separator) and one
    `context + tail` sequence per window. The block always holds every type's query, so the context reads the
    queries it was trained with; `query_spans` says where the requested types' queries lie in it."""

    def __init__(self, layouts: dict[str, QueryLayout], with_type_ids: bool):
        self.with_type_ids = with_type_ids
        self.layout = first = next(iter(layouts.values()))
        self.ids, self.type_ids = first.head_ids[: first.query_start], first.head_type_ids[: first.query_start]
        self.spans = {}
        for name, layout in layouts.items():
            self.spans[name] = [len(self.ids), len(self.ids) + layout.query_stop - layout.query_start]
            self.ids = self.ids + layout.head_ids[layout.query_start :]
            self.type_ids = self.type_ids + layout.head_type_ids[layout.query_start :]
        self.taken = len(self.ids) + len(first.tail_ids)
        self.taker = f"The packed queries of all {len(layouts)} entity types take"

    def features(self, context_ids: list[int], entity_types: list[str]) -> dict[str, list]:
        features = {
            "input_ids": context_ids + self.layout.tail_ids,
            "query_input_ids": self.ids,
            "query_spans": [self.spans[name] for name in entity_types],
        }
        if self.with_type_ids:
            features["token_type_ids"] = [self.layout.context_type_id] * len(context_ids) + self.layout.tail_type_ids
            features["query_token_type_ids"] = self.type_ids
        return features


# --------------------------------------------------------------------------------------------------- model side


class PerTypeEncoding(nn.Module):
    """All types' `[CLS] query [SEP] context [SEP]` sequences in one encoder call of [batch·types, seq]; the context
    tokens of each are gathered from `context_start` on."""

    def __init__(self, config: MultiNerConfig, encoder: PreTrainedModel):
        super().__init__()

    def forward(
        self,
        encoder: PreTrainedModel,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        context_length: int,
        context_start: torch.Tensor | None = None,
        **unused: Any,
    ) -> torch.Tensor:
        """input_ids: [batch, types, seq]; context_start: [batch, types]. Returns [batch, types, context, hidden]."""
        if input_ids.dim() != 3 or context_start is None:
            raise ValueError(
                "query_mode='per_type' takes input_ids of shape [batch, types, seq] and context_start; build the "
                "inputs with the model's processor (MultiNerProcessor.from_pretrained(model folder))."
            )
        batch, types, seq = input_ids.shape
        encoded = encoder(
            input_ids=input_ids.view(batch * types, seq),
            attention_mask=attention_mask.view(batch * types, seq),
            token_type_ids=None if token_type_ids is None else token_type_ids.view(batch * types, seq),
        ).last_hidden_state.view(batch, types, seq, -1)
        offsets = torch.arange(context_length, device=encoded.device)
        positions = (context_start[:, :, None] + offsets).clamp(max=seq - 1)
        return encoded.gather(2, positions[..., None].expand(-1, -1, -1, encoded.shape[-1]))


class QueryAttention(nn.Module):
    """Packed query mode: each type's view of every context token, from attention from that token to the type's own
    query tokens, fused with the token: `LN(x + W [a_t; x ⊙ a_t])`, where `a_t` attends over query t only."""

    def __init__(self, config: MultiNerConfig):
        super().__init__()
        hidden_size = config.hidden_size
        self.num_heads = config.type_attention_heads
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key_value = nn.Linear(hidden_size, 2 * hidden_size)
        self.fuse = nn.Linear(2 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(config.type_attention_dropout)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)

    def forward(
        self,
        context: torch.Tensor,
        query_states: torch.Tensor,
        query_spans: torch.Tensor,
        projected: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """context: [batch, context, hidden]; query_states: [block, hidden], the encoded query block; query_spans:
        [types, 2], each type's query tokens [start, stop) in the block; projected: `self.key_value(query_states)`
        when the caller kept it. Returns [batch, types, context, hidden]."""
        batch, length, hidden_size = context.shape
        heads = self.num_heads
        # each type's own query tokens, gathered into [types, longest query] (shorter ones masked)
        offsets = torch.arange(int((query_spans[:, 1] - query_spans[:, 0]).max()), device=context.device)
        positions = query_spans[:, :1] + offsets  # [types, longest]
        own = positions < query_spans[:, 1:]
        positions = positions.clamp(max=query_states.shape[0] - 1)
        query = self.query(context).view(batch, length, heads, -1).transpose(1, 2)  # [batch, heads, context, d]
        projected = self.key_value(query_states) if projected is None else projected
        key, value = projected.view(-1, 2, heads, hidden_size // heads).permute(1, 2, 0, 3)
        key, value = key[:, positions], value[:, positions]  # [heads, types, longest, d]
        scores = torch.einsum("bhcd,htld->bthcl", query, key) * query.shape[-1] ** -0.5
        scores = scores.masked_fill(~own[None, :, None, None, :], float("-inf"))
        attended = torch.einsum("bthcl,htld->btchd", scores.softmax(-1), value).reshape(batch, -1, length, hidden_size)
        tokens = context[:, None].expand_as(attended)
        return self.layer_norm(tokens + self.dropout(self.fuse(torch.cat([attended, tokens * attended], dim=-1))))


class PackedEncoding(nn.Module):
    """The query block encoded once per batch (once per model at inference), every window's context attending to its
    keys and values through the encoder's cache (exactly one `[block + context]` sequence whose block does not attend
    to the context), then [`QueryAttention`] for each type's view of the context."""

    def __init__(self, config: MultiNerConfig, encoder: PreTrainedModel):
        super().__init__()
        if cache_keyword(encoder) is None:
            raise ValueError(
                f"query_mode='packed' needs an encoder whose forward takes a key/value cache (BERT, RoBERTa, ELECTRA, "
                f"XLM-R, ...); {type(encoder).__name__} does not. Use query_mode='per_type' with this encoder."
            )
        self.query_attention = QueryAttention(config)
        self._block: tuple | None = None  # (what it was computed from, cache, states): see `_encoded_block`

    def forward(
        self,
        encoder: PreTrainedModel,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
        context_length: int,
        query_input_ids: torch.Tensor | None = None,
        query_token_type_ids: torch.Tensor | None = None,
        query_spans: torch.Tensor | None = None,
        **unused: Any,
    ) -> torch.Tensor:
        """input_ids: [batch, seq]; query_input_ids: [batch, block] (the same block in every row); query_spans:
        [batch, types, 2]. Returns [batch, types, context, hidden]."""
        if input_ids.dim() != 2 or query_input_ids is None or query_spans is None:
            raise ValueError(
                "query_mode='packed' takes input_ids of shape [batch, seq], query_input_ids and query_spans; build "
                "the inputs with the model's processor (MultiNerProcessor.from_pretrained(model folder))."
            )
        if encoder.is_activation_checkpointing and self.training:
            raise ValueError(
                "query_mode='packed' shares the query block's keys and values through the encoder's cache, which "
                "gradient checkpointing turns off; train without gradient_checkpointing."
            )
        block, spans = query_input_ids[:1], query_spans[0]
        if (query_input_ids != block).any() or (query_spans != spans).any():
            raise ValueError("All rows of a packed batch must share one query block; build them with one processor.")
        block_types = None if query_token_type_ids is None else query_token_type_ids[:1]
        cache, query_states, projected = self._encoded_block(encoder, block, block_types)
        batch = input_ids.shape[0]
        shared = DynamicCache(config=encoder.config)
        for index, layer in enumerate(cache.layers):
            shared.update(layer.keys.expand(batch, -1, -1, -1), layer.values.expand(batch, -1, -1, -1), index)
        block_mask = attention_mask.new_ones(batch, block.shape[1])
        context = call_with_cache(
            encoder,
            shared,
            input_ids=input_ids,
            attention_mask=torch.cat([block_mask, attention_mask], dim=1),
            token_type_ids=token_type_ids,
        ).last_hidden_state[:, :context_length]
        return self.query_attention(context, query_states[0], spans, projected)

    def _encoded_block(
        self, encoder: PreTrainedModel, block: torch.Tensor, block_types: torch.Tensor | None
    ) -> tuple[DynamicCache, torch.Tensor, torch.Tensor | None]:
        """The query block's keys and values (a cache), its states and (when kept) their projection to the query
        attention's keys and values. Without gradients in eval mode they are kept for the next call with the same
        block, encoder and query-attention weights (tensors and in-place versions), device and autocast state: a
        prediction of one short text at a time would otherwise encode every query again for each text."""
        reusable = not self.training and not torch.is_grad_enabled()
        if reusable:
            weights = (*encoder.parameters(), *self.query_attention.key_value.parameters())
            key = (
                block.device,
                tuple(block[0].tolist()),
                None if block_types is None else tuple(block_types[0].tolist()),
                torch.is_autocast_enabled(block.device.type),
                tuple((parameter.data_ptr(), parameter._version) for parameter in weights),
            )
            if self._block is not None and self._block[0] == key:
                return self._block[1]
        self._block = None
        cache = DynamicCache(config=encoder.config)
        states = call_with_cache(encoder, cache, input_ids=block, token_type_ids=block_types).last_hidden_state
        if not reusable:
            return cache, states, None
        encoded = (cache, states, self.query_attention.key_value(states[0]))
        self._block = (key, encoded)
        return encoded


# ------------------------------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class CollatorFields:
    """How the collator batches a mode's inputs (besides the masks and labels every mode has).

    Args:
        type_axis: `input_ids` / `token_type_ids` rows hold one sequence per type ([types][seq]) instead of one.
        blocks: fields that are the same sequence in every row (never padded, no attention mask).
        arrays: fixed-shape fields stacked as they are.
    """

    type_axis: bool
    blocks: tuple[str, ...]
    arrays: tuple[str, ...]


@dataclass(frozen=True)
class QueryMode:
    """One query mode: its processor layout, its model encoding and its collator fields."""

    name: str
    layout: type
    encoding: type
    fields: CollatorFields

    @property
    def input_names(self) -> list[str]:
        """The mode's own model inputs (`token_type_ids` of a block only where the tokenizer uses them)."""
        return list(self.fields.blocks) + list(self.fields.arrays)


QUERY_MODES = {
    "per_type": QueryMode("per_type", PerTypeLayout, PerTypeEncoding, CollatorFields(True, (), ("context_start",))),
    "packed": QueryMode(
        "packed",
        PackedLayout,
        PackedEncoding,
        CollatorFields(False, ("query_input_ids", "query_token_type_ids"), ("query_spans",)),
    ),
}


def query_mode_of(name: str) -> QueryMode:
    """The registered mode called `name`; a `ValueError` listing the modes otherwise."""
    if name not in QUERY_MODES:
        raise ValueError(f"query_mode={name!r} is not allowed; use one of {tuple(QUERY_MODES)}.")
    return QUERY_MODES[name]


__all__ = [
    "QUERY_MODES",
    "CollatorFields",
    "PackedEncoding",
    "PackedLayout",
    "PerTypeEncoding",
    "PerTypeLayout",
    "QueryAttention",
    "QueryLayout",
    "QueryMode",
    "query_layout",
    "query_mode_of",
]
