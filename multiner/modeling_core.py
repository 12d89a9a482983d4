"""What the three families' models share: the label padding value, the input signature (a digest of the settings a
processor's inputs depend on, and the model's check of it), the weighted binary cross-entropy and window shifting."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch
import torch.nn.functional as F

# Label of a padding position (and of the placeholder row of an example without entities): ignored by every loss.
LABEL_PAD = -100


def signature_digest(config: Any) -> int:
    """A 63-bit digest of the values (JSON) of `config.signature_fields`, the settings a processor's inputs depend
    on: what a family's `config.input_signature()` returns.

    Example:
        >>> from types import SimpleNamespace
        >>> a = SimpleNamespace(signature_fields=["types"], types=["PER", "LOC"])
        >>> b = SimpleNamespace(signature_fields=["types"], types=["LOC", "PER"])
        >>> signature_digest(a) == signature_digest(b)
        False
    """
    layout = json.dumps([getattr(config, name) for name in config.signature_fields])
    return int.from_bytes(hashlib.sha256(layout.encode("utf-8")).digest()[:8], "big") >> 1


def check_input_signature(config: Any, input_signature: torch.Tensor | None, processor: str) -> None:
    """Refuse inputs whose `input_signature` (`[batch]`, written by the processor) is not `config.input_signature()`:
    they were built for other `config.signature_fields` (e.g. other entity types, or the same in another order), and
    would train or decode under the wrong names. `processor` names the family's processor class for the fix."""
    if input_signature is None or not (input_signature != config.input_signature()).any():
        return
    fields = config.signature_fields
    described = ", ".join(f"{name}={getattr(config, name)!r}" for name in fields)
    raise ValueError(
        f"These inputs were built by a processor for another model configuration ({', '.join(fields)} or their order "
        f"differ from this model's: {described}). Build the processor from this model: {processor}.from_model(model) "
        f"or {processor}.from_pretrained(model folder)."
    )


def weighted_bce(logits: torch.Tensor, targets: torch.Tensor, positive_weight: float) -> torch.Tensor:
    """Element-wise binary cross-entropy of `logits` against 0/1 `targets` (in float32), positives weighing
    `positive_weight`, negatives 1."""
    pos_weight = None if positive_weight == 1.0 else logits.new_tensor(positive_weight, dtype=torch.float)
    return F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="none", pos_weight=pos_weight)


def shifted_windows(values: torch.Tensor, size: int, dim: int = 1) -> torch.Tensor:
    """`out[..., i, k, ...] = values[..., i + k, ...]` along `dim` (zero past the end); a new axis after `dim`.

    Example:
        >>> shifted_windows(torch.tensor([1, 2, 3]), 2, dim=0).tolist()
        [[1, 2], [2, 3], [3, 0]]
    """
    padding = [0, 0] * (values.dim() - dim - 1) + [0, size - 1]
    padded = F.pad(values, padding)
    return padded.unfold(dim, size, 1).movedim(-1, dim + 1)


__all__ = ["LABEL_PAD", "check_input_signature", "shifted_windows", "signature_digest", "weighted_bce"]
