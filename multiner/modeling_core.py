"""What the three families' models share: the label padding value, the input signature (a digest of the settings a
processor's inputs depend on, and the model's check of it), the checks every config makes of its own fields, the
weighted binary cross-entropy and window shifting."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError

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


def check_switch_input(config: Any, switch: str, value: torch.Tensor | None, name: str, processor: str) -> None:
    """Refuse a forward pass without input `name` when the config's `switch` makes the model read it (word features:
    `casing_ids`, `char_ids`); `processor` names the family's processor class, which writes it."""
    if getattr(config, switch) and value is None:
        raise ValueError(f"This model has {switch}=True: give {name}; {processor}.from_model(model) writes them.")


def check_extra_fields(config: Any, extra: dict[str, Any]) -> None:
    """Refuse a config's extra keyword arguments (what it has no field for) that show a mistake: the `model_type` of
    another model (a folder of another family), or a near-miss of one of its own fields (`max_span_lenght=4`), which
    transformers would otherwise keep as a stray attribute while the real field silently keeps its default. Other
    extras (`auto_map`, `custom_pipelines`, ... that transformers writes into config.json) pass, as in transformers.
    """
    found = extra.get("model_type", config.model_type)
    if found != config.model_type:
        raise ValueError(
            f"This config is of a {found!r} model, not {config.model_type!r} ({type(config).__name__}): the folder "
            f"holds another kind of model. Load it with AutoModel.from_pretrained(folder) (and AutoProcessor, or "
            "pipeline(model=folder)), which pick the classes its config.json names."
        )
    fields = [field.name for field in dataclasses.fields(config)]
    own = fields[fields.index("encoder_config") :]  # a family's fields follow transformers' generic ones
    for name in extra:
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.8)
        if close:
            raise TypeError(
                f"{type(config).__name__} got an unknown field {name!r}. Did you mean {close[0]!r}? Its own fields "
                f"are {', '.join(own)}."
            )


class ChecksLoading:
    """Mixed into a family's `PreTrainedModel` (before it): `from_pretrained` failures on a broken folder name the
    file or the config field at fault instead of surfacing safetensors' or transformers' internals."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        folder = Path(str(pretrained_model_name_or_path), kwargs.get("subfolder") or "")
        if kwargs.get("config") is None and folder.is_dir() and not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} has no config.json, which holds the model's settings (entity types, encoder, heads): "
                "the folder is incomplete. Restore config.json from where the folder came from, or save the model "
                "again (model.save_pretrained, Trainer.save_model or pipeline.save_pretrained)."
            )
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except SafetensorError as error:
            raise OSError(
                f"The weights of {pretrained_model_name_or_path} (its .safetensors file) cannot be read: {error}. The "
                "file is truncated or corrupt; download or save the model again."
            ) from error
        except RuntimeError as error:
            if "ignore_mismatched_sizes" not in str(error):
                raise
            config = cls.config_class.from_pretrained(pretrained_model_name_or_path)
            described = ", ".join(f"{name}={getattr(config, name)!r}" for name in config.signature_fields)
            raise ValueError(
                f"The weights saved in {pretrained_model_name_or_path} do not fit its config.json ({described}): "
                "the parameter shapes those settings give differ from the saved ones (the load report above lists "
                "them). Restore config.json as it was saved; for other entity types, train a new model from the "
                "encoder (from_encoder)."
            ) from error


def checked_names(config: Any, field: str) -> list[str]:
    """`config.<field>` (entity or relation types) as a list of distinct non-empty strings; None is no names. A string
    is refused rather than read as a list of its letters (`"ADR"` is not `["A", "D", "R"]`)."""
    names = getattr(config, field)
    owner = f"{type(config).__name__}.{field}"
    if isinstance(names, str):
        raise ValueError(f"{owner} must be a list of non-empty strings, got {names!r}: one name is [{names!r}].")
    names = list(names or [])
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"{owner} must be a list of non-empty strings, got {names!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{owner} has duplicates: {names!r}.")
    return names


def weighted_bce(logits: torch.Tensor, targets: torch.Tensor, positive_weight: float | torch.Tensor) -> torch.Tensor:
    """Element-wise binary cross-entropy of `logits` against 0/1 `targets` (in float32), positives weighing
    `positive_weight` (a number, or a tensor that broadcasts against the last axis), negatives 1."""
    if isinstance(positive_weight, torch.Tensor):
        pos_weight = positive_weight.to(device=logits.device, dtype=torch.float)
    else:
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


__all__ = [
    "LABEL_PAD",
    "check_input_signature",
    "check_switch_input",
    "ChecksLoading",
    "check_extra_fields",
    "checked_names",
    "shifted_windows",
    "signature_digest",
    "weighted_bce",
]
