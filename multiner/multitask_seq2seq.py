"""seeds/001's additions to the seq2seq pointer model, each behind a config switch: entity-type attention (ETA: the
type vectors' keys and values in front of every attention layer's own, through an attention implementation
registered with transformers) and the word-pair grid of relation prediction (RP) and token-relation attention (TRA),
with its focal loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from .configuration_seq2seq import RELATION_CLASSES, Seq2SeqNerConfig
from .modeling_core import LABEL_PAD

# The attention implementation of a backbone with entity-type attention: sdpa, with the type vectors' keys and
# values in front of every self-attention layer's own (see `attention_with_memory`).
MEMORY_ATTENTION = "multiner_memory"


def attention_with_memory(module, query, key, value, attention_mask, type_memory=None, **kwargs):
    """sdpa attention whose self-attention layers also attend to `type_memory` (`[batch or 1, types, hidden]`):
    its keys and values, through the layer's own key and value projections, go in front of the layer's
    (`cat(K_T, K)`, `cat(V_T, V)`); every query may attend to them. Without `type_memory`, or in a layer not marked
    as self-attention by `mark_attention_layers`, this is transformers' sdpa attention unchanged."""
    if type_memory is None or getattr(module, "multiner_attention_role", None) != "self":
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    key_projection, value_projection = _key_value_projections(module)
    batch, heads, key_length, size = key.shape
    memory = type_memory.to(key.dtype).expand(batch, -1, -1)
    extra_keys = key_projection(memory).view(batch, -1, heads, size).transpose(1, 2)
    extra_values = value_projection(memory).view(batch, -1, heads, size).transpose(1, 2)
    causal = getattr(module, "is_causal", False)
    mask = _mask_with_memory(attention_mask, memory.size(1), query.size(2), key_length, causal, batch, key.device)
    return sdpa_attention_forward(
        module, query, torch.cat([extra_keys, key], 2), torch.cat([extra_values, value], 2), mask, **kwargs
    )


def _mask_with_memory(mask, extra, query_length, key_length, causal, batch, device):
    """`mask` (bool or additive, `[batch, 1, queries, keys]`, or None) with `extra` attendable key columns in
    front; a causal layer's implicit mask (None) made explicit first, aligned to the last queries."""
    if mask is None:
        if not (causal and query_length > 1):
            return None
        positions = torch.arange(key_length, device=device)
        mask = (positions[None, :] <= positions[key_length - query_length :, None])[None, None]
        mask = mask.expand(batch, 1, -1, -1)
    shape = (*mask.shape[:-1], extra)
    if mask.dtype == torch.bool:
        front = torch.ones(shape, dtype=torch.bool, device=mask.device)
    else:
        front = torch.zeros(shape, dtype=mask.dtype, device=mask.device)
    return torch.cat([front, mask], dim=-1)


def _key_value_projections(module: nn.Module) -> tuple[nn.Linear, nn.Linear] | None:
    """An attention layer's key and value projections (BERT-like `key`/`value`, BART-like `k_proj`/`v_proj`)."""
    for key_name, value_name in (("key", "value"), ("k_proj", "v_proj")):
        key, value = getattr(module, key_name, None), getattr(module, value_name, None)
        if isinstance(key, nn.Linear) and isinstance(value, nn.Linear):
            return key, value
    return None


def mark_attention_layers(backbone: nn.Module) -> int:
    """Mark each attention layer of `backbone` as self- or cross-attention for `attention_with_memory` and switch
    the backbone to it; returns how many self-attention layers take type memory."""
    marked = 0
    for name, module in backbone.named_modules():
        if _key_value_projections(module) is None:
            continue
        cross = "crossattention" in name or "encoder_attn" in name
        module.multiner_attention_role = "cross" if cross else "self"
        marked += not cross
    backbone.set_attn_implementation(MEMORY_ATTENTION)
    return marked


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
    "ConditionalLayerNorm",
    "WordPairGrid",
    "attention_with_memory",
    "focal_loss",
    "mark_attention_layers",
]
