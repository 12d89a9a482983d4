"""seeds/001's additions to the seq2seq pointer model, each behind a config switch: entity-type attention (ETA: the
type vectors read by every attention layer) and the word-pair grid of relation prediction (RP) and token-relation
attention (TRA: one vector per word read by the decoder's cross-attention), with its focal loss. The memories reach
the layers through an attention implementation registered with transformers; by default each enters through a gate
that starts closed, so that a new model computes exactly the baseline."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from .configuration_seq2seq import RELATION_CLASSES, Seq2SeqNerConfig
from .modeling_core import LABEL_PAD

# The attention implementation of a backbone with entity-type or token-relation attention: sdpa, and beside every
# marked layer's own keys the memory vectors of `AttentionMemory` (see `attention_with_memory`).
MEMORY_ATTENTION = "multiner_memory"
TYPE_GATE, RELATION_GATE = 0, 1  # columns of `AttentionMemory.gates`


@dataclass
class AttentionMemory:
    """What the marked attention layers read beside their own keys and values, through their own key and value
    projections: the type vectors (ETA: every self- and cross-attention layer) and the per-word relation vectors
    (TRA: cross-attention layers, `relation_mask` marking real words).

    `gates` (`[layers, 2]`, columns `TYPE_GATE`, `RELATION_GATE`) chooses how they enter. Given, each memory is
    attended in its own softmax and added to the layer's output through `tanh(gate)`: gates at 0 (their
    initialisation) compute exactly the model without the addition. None: seeds/001's form, one softmax over the
    memory keys in front of the layer's own (`cat(K_memory, K)`)."""

    type_vectors: torch.Tensor | None = None  # [1, types, hidden]
    relation_vectors: torch.Tensor | None = None  # [batch, words, hidden]
    relation_mask: torch.Tensor | None = None  # [batch, words], bool
    gates: torch.Tensor | None = None

    def parts(self, role: str | None) -> list[tuple[torch.Tensor, torch.Tensor | None, int]]:
        """`(vectors, mask or None, gate column)` of what a layer of `role` ("self", "cross") reads."""
        parts = []
        if role == "cross" and self.relation_vectors is not None:
            parts.append((self.relation_vectors, self.relation_mask, RELATION_GATE))
        if role in ("self", "cross") and self.type_vectors is not None:
            parts.append((self.type_vectors, None, TYPE_GATE))
        return parts


def attention_with_memory(module, query, key, value, attention_mask, multiner_memory=None, **kwargs):
    """sdpa attention that also reads `multiner_memory` ([`AttentionMemory`]) in the layers `mark_attention_layers`
    marked: gated, `sdpa(Q, K, V) + sum over memories of tanh(gate) * softmax(Q K_m) V_m`; ungated,
    `sdpa(Q, cat(K_m, K), cat(V_m, V))` with every memory key attendable but padding words'. Without memory for the
    layer, this is transformers' sdpa attention unchanged."""
    parts = [] if multiner_memory is None else multiner_memory.parts(getattr(module, "multiner_attention_role", None))
    if not parts:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    projected = [(*_memory_keys_values(module, key, vectors), mask, column) for vectors, mask, column in parts]
    if multiner_memory.gates is None:
        extra_keys = torch.cat([keys for keys, _, _, _ in projected], 2)
        extra_values = torch.cat([values for _, values, _, _ in projected], 2)
        front = torch.cat([_memory_mask(keys, mask) for keys, _, mask, _ in projected], 1)
        causal = getattr(module, "is_causal", False)
        mask = _mask_with_memory(attention_mask, front, query.size(2), key.size(2), causal)
        return sdpa_attention_forward(
            module, query, torch.cat([extra_keys, key], 2), torch.cat([extra_values, value], 2), mask, **kwargs
        )
    output, weights = sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    scaling = kwargs.get("scaling") or query.size(-1) ** -0.5
    gates = torch.tanh(multiner_memory.gates[module.multiner_layer])
    for keys, values, mask, column in projected:
        scores = query @ keys.transpose(2, 3) * scaling  # [batch, heads, queries, memory]
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
        read = (scores.softmax(-1) @ values).transpose(1, 2)  # [batch, queries, heads, size], as sdpa's output
        output = output + gates[column].to(read.dtype) * read
    return output, weights


def _memory_keys_values(module, key: torch.Tensor, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`vectors` (`[batch or 1, n, hidden]`) through the layer's key and value projections, `[batch, heads, n, size]`
    each."""
    key_projection, value_projection = _key_value_projections(module)
    batch, heads, _, size = key.shape
    vectors = vectors.to(key.dtype).expand(batch, -1, -1)
    keys = key_projection(vectors).view(batch, -1, heads, size).transpose(1, 2)
    values = value_projection(vectors).view(batch, -1, heads, size).transpose(1, 2)
    return keys, values


def _memory_mask(keys: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """`[batch, n]` bool: which memory keys may be attended (all, or `mask`'s)."""
    if mask is None:
        return torch.ones(keys.shape[0], keys.shape[2], dtype=torch.bool, device=keys.device)
    return mask.to(torch.bool)


def _mask_with_memory(mask, front, query_length, key_length, causal):
    """`mask` (bool or additive, `[batch, 1, queries, keys]`, or None) with the memory columns `front`
    (`[batch, memory]` bool) in front; a causal layer's implicit mask (None) made explicit first, aligned to the last
    queries; an implicit full mask made explicit when some memory column is masked."""
    batch, device = front.shape[0], front.device
    if mask is None:
        if causal and query_length > 1:
            positions = torch.arange(key_length, device=device)
            mask = (positions[None, :] <= positions[key_length - query_length :, None])[None, None]
        elif bool(front.all()):
            return None
        else:
            mask = torch.ones(1, 1, query_length, key_length, dtype=torch.bool, device=device)
    mask = mask.expand(batch, 1, -1, -1)
    columns = front[:, None, None, :].expand(batch, 1, mask.shape[2], -1)
    if mask.dtype != torch.bool:
        columns = torch.zeros(columns.shape, dtype=mask.dtype, device=mask.device).masked_fill(
            ~columns, torch.finfo(mask.dtype).min
        )
    return torch.cat([columns, mask], dim=-1)


def _key_value_projections(module: nn.Module) -> tuple[nn.Linear, nn.Linear] | None:
    """An attention layer's key and value projections (BERT-like `key`/`value`, BART-like `k_proj`/`v_proj`)."""
    for key_name, value_name in (("key", "value"), ("k_proj", "v_proj")):
        key, value = getattr(module, key_name, None), getattr(module, value_name, None)
        if isinstance(key, nn.Linear) and isinstance(value, nn.Linear):
            return key, value
    return None


def mark_attention_layers(backbones: list[nn.Module]) -> tuple[int, int]:
    """Mark each attention layer of `backbones` as self- or cross-attention, with its index among all marked layers
    (its row of `AttentionMemory.gates`), and switch the backbones to `attention_with_memory`; returns how many
    self- and cross-attention layers were marked."""
    marked = {"self": 0, "cross": 0}
    for backbone in backbones:
        for name, module in backbone.named_modules():
            if _key_value_projections(module) is None:
                continue
            role = "cross" if "crossattention" in name or "encoder_attn" in name else "self"
            module.multiner_attention_role = role
            module.multiner_layer = marked["self"] + marked["cross"]
            marked[role] += 1
        backbone.set_attn_implementation(MEMORY_ATTENTION)
    return marked["self"], marked["cross"]


AttentionInterface.register(MEMORY_ATTENTION, attention_with_memory)
AttentionMaskInterface.register(MEMORY_ATTENTION, sdpa_mask)


class ConditionalLayerNorm(nn.Module):
    """W2NER's conditional layer normalisation (seeds/001 eq. 1-3): `r_ij = gain(h_i) * norm(h_j) + bias(h_i)`,
    the gain and bias generated from the conditioning word; the gain starts near 1."""

    def __init__(self, size: int, eps: float = 1e-12):
        super().__init__()
        self.gain = nn.Linear(size, size)
        self.bias = nn.Linear(size, size)
        self.eps = eps

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """`[batch, words, size]` -> the pair grid `[batch, words (i), words (j), size]`."""
        normed = F.layer_norm(states, states.shape[-1:], eps=self.eps)
        gain = 1.0 + self.gain(states)
        return gain[:, :, None, :] * normed[:, None, :, :] + self.bias(states)[:, :, None, :]


class WordPairGrid(nn.Module):
    """The word-pair grid of seeds/001: word states reduced to `relation_size`, paired by conditional layer
    normalisation; an MLP classifies each pair (RP), and a convolution over the grid, max-pooled over each word's
    row, gives one key/value vector per word for the decoder's cross-attention (TRA). The paper leaves the grid ->
    key layout open; pooling rows adds `words` keys rather than `words^2`."""

    def __init__(self, config: Seq2SeqNerConfig, word_size: int, memory_size: int):
        super().__init__()
        size = config.relation_size
        self.reduce = nn.Linear(word_size, size)
        self.pairs = ConditionalLayerNorm(size)
        self.classifier = None
        if config.relation_prediction:
            classes = len(RELATION_CLASSES)
            self.classifier = nn.Sequential(
                nn.Linear(size, size), nn.GELU(), nn.Dropout(config.pointer_dropout), nn.Linear(size, classes)
            )
        self.convolution = self.to_memory = None
        if config.token_relation_attention:
            self.convolution = nn.Conv2d(size, size, kernel_size=3, padding=1)
            self.to_memory = nn.Linear(size, memory_size)

    def forward(self, word_states: torch.Tensor, word_mask: torch.Tensor, classify: bool):
        """`(pair logits [batch, words, words, classes] or None, memory [batch, words, memory size] or None)`."""
        grid = self.pairs(self.reduce(word_states))
        logits = self.classifier(grid) if classify and self.classifier is not None else None
        memory = None
        if self.convolution is not None:
            pair_mask = word_mask[:, :, None] & word_mask[:, None, :]
            features = grid.masked_fill(~pair_mask[..., None], 0.0).permute(0, 3, 1, 2)
            features = F.gelu(self.convolution(features))  # [batch, size, words (i), words (j)]
            features = features.masked_fill(~word_mask[:, None, None, :], torch.finfo(features.dtype).min)
            memory = self.to_memory(features.amax(dim=-1).transpose(1, 2))
        return logits, memory


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float, tau: float) -> torch.Tensor:
    """Mean of `-alpha * (1 - p)^tau * log p` over the labelled rows (`labels != -100`), `p` the probability of the
    gold class under softmax(`logits`); 0 (with a gradient path) when no row is labelled."""
    labelled = labels != LABEL_PAD
    if not labelled.any():
        return logits.sum() * 0.0
    log_p = F.log_softmax(logits[labelled].float(), dim=-1).gather(1, labels[labelled][:, None]).squeeze(1)
    return (-alpha * (1.0 - log_p.exp()) ** tau * log_p).mean()


__all__ = [
    "MEMORY_ATTENTION",
    "AttentionMemory",
    "ConditionalLayerNorm",
    "WordPairGrid",
    "attention_with_memory",
    "focal_loss",
    "mark_attention_layers",
]
