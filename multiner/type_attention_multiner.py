"""Multi-NER's cross-type attention: the per-type representations of the context attend to each other (label
dependencies), across types at each position ("token") or across every type and position ("full")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .configuration_multiner import MultiNerConfig

# The most attention scores FullTypeAttention computes at once (64 MB in float32).
ATTENTION_BUDGET = 1 << 24


class MaskedSelfAttention(nn.Module):
    """Scaled dot-product self-attention with a key mask, residual connection and layer norm."""

    def __init__(self, config: MultiNerConfig):
        super().__init__()
        hidden_size = config.hidden_size
        self.num_heads = config.type_attention_heads
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(config.type_attention_dropout)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """hidden: [groups, items, hidden]; key_mask: [groups, items] (True = may be attended) or None."""
        groups, items, hidden_size = hidden.shape
        query, key, value = (
            self.qkv(hidden).view(groups, items, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        )  # each [groups, heads, items, head_dim]
        attn_mask = None
        if key_mask is not None:
            # A group whose keys are all masked (an empty window) would give NaN; let it attend to everything.
            key_mask = key_mask | ~key_mask.any(dim=-1, keepdim=True)
            attn_mask = key_mask[:, None, None, :]
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask)
        attended = attended.transpose(1, 2).reshape(groups, items, hidden_size)
        return self.layer_norm(hidden + self.dropout(self.output(attended)))


class NoTypeAttention(nn.Module):
    """Each type's representation stays its own (BERT-MRC)."""

    def __init__(self, config: MultiNerConfig):
        super().__init__()

    def forward(self, hidden: torch.Tensor, context_mask: torch.Tensor) -> torch.Tensor:
        return hidden


class TokenTypeAttention(nn.Module):
    """At each context position, every type attends to every type: O(types² · context)."""

    def __init__(self, config: MultiNerConfig):
        super().__init__()
        self.attention = MaskedSelfAttention(config)

    def forward(self, hidden: torch.Tensor, context_mask: torch.Tensor) -> torch.Tensor:
        batch, types, context, hidden_size = hidden.shape
        per_position = hidden.transpose(1, 2).reshape(batch * context, types, hidden_size)
        attended = self.attention(per_position)  # [batch·context, types, hidden]
        return attended.view(batch, context, types, hidden_size).transpose(1, 2)


class FullTypeAttention(nn.Module):
    """Every (type, position) attends to every (type, position), as in the authors' code: O((types · context)²)."""

    def __init__(self, config: MultiNerConfig):
        super().__init__()
        self.attention = MaskedSelfAttention(config)

    def forward(self, hidden: torch.Tensor, context_mask: torch.Tensor) -> torch.Tensor:
        batch, types, context, hidden_size = hidden.shape
        key_mask = context_mask.bool()[:, None, :].expand(batch, types, context).reshape(batch, types * context)
        items = hidden.reshape(batch, types * context, hidden_size)
        # rows in chunks whose attention matrices hold at most ATTENTION_BUDGET scores: the [rows, heads, items,
        # items] matrix of a whole batch is the largest tensor of a prediction (rows do not attend to each other)
        rows = max(1, ATTENTION_BUDGET // (self.attention.num_heads * (types * context) ** 2))
        attended = torch.cat(
            [self.attention(items[at : at + rows], key_mask[at : at + rows]) for at in range(0, batch, rows)]
        )
        return attended.view(batch, types, context, hidden_size)


TYPE_ATTENTION_CLASSES = {"none": NoTypeAttention, "token": TokenTypeAttention, "full": FullTypeAttention}


__all__ = [
    "TYPE_ATTENTION_CLASSES",
    "FullTypeAttention",
    "MaskedSelfAttention",
    "NoTypeAttention",
    "TokenTypeAttention",
]
