"""Family-neutral model-card rendering: Hub metadata plus a Jinja template kept as a Python string (transformers
copies a remote-code model's Python imports into its module cache, never data files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import ModelCardData

from .encoders import hub_id_of_encoder

CARD_NAME = "README.md"


def render_card(template: str, config, processor, card_data: Any, title: str, pipeline_tag: str, **values: Any) -> str:
    """A model card as Markdown with YAML metadata: `template` rendered with the card data's fields, the model's
    `config`, the processor's window, and `values`. `title` names the model when the card data gives no name
    (followed by the datasets); the encoder's Hub id comes from `config.encoder_name` unless given."""
    import jinja2

    base_model = card_data.base_model or hub_id_of_encoder(getattr(config, "encoder_name", None))
    model_name = card_data.model_name or f"{title} on " + (", ".join(card_data.datasets) or "custom data")
    metadata = ModelCardData(
        library_name="multiner",
        pipeline_tag=pipeline_tag,
        tags=card_data.tags,
        base_model=base_model,
        datasets=card_data.datasets or None,
        license=card_data.license,
        language=card_data.language,
        model_name=model_name,
    )
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return environment.from_string(template).render(
        card_data=metadata.to_yaml(),
        model_name=model_name,
        model_id=card_data.model_id,
        base_model=base_model,
        datasets=card_data.datasets,
        config=config,
        max_length=processor.max_length,
        stride=processor.stride,
        hyperparameters=card_data.hyperparameters,
        eval_results=card_data.eval_results,
        eval_split=card_data.eval_split,
        example=card_data.example,
        **values,
    )


def write_card(folder: str | Path, text: str) -> Path:
    """Write `README.md` (a model card) into a model folder and return its path."""
    path = Path(folder) / CARD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["CARD_NAME", "render_card", "write_card"]
