"""Family-neutral model-card rendering: Hub metadata plus a Jinja template kept as a Python string (transformers
copies a remote-code model's Python imports into its module cache, never data files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCardData

from .encoders import hub_id_of_encoder

CARD_NAME = "README.md"

# The training settings table every family's card ends its description with (a Jinja fragment of the templates).
HYPERPARAMETERS_SECTION = """{% if hyperparameters %}

## Training hyperparameters

| hyperparameter | value |
|---|---|
{% for name, value in hyperparameters.items() %}
| {{ name }} | {{ value }} |
{% endfor %}
{% endif %}
"""


@dataclass
class CardData:
    """What a card says beyond the model's config and processor; each family's card data subclasses it with its own
    tags and usage example.

    Args:
        model_id: the Hub id (or folder) used in the usage snippet.
        model_name: the card's title (default: made from the datasets).
        base_model: Hub id of the encoder (found from the config when built with `from_encoder`).
        datasets, language, license, tags: Hub metadata.
        hyperparameters: training settings shown in a table.
        eval_results: per dataset, the family's evaluation output.
        eval_split: the split those results are on.
        example: the text of the usage snippet.
    """

    model_id: str = "path/to/model"
    model_name: str | None = None
    base_model: str | None = None
    language: str | list[str] | None = "en"
    license: str | None = None
    datasets: list[str] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    eval_results: dict[str, dict] = field(default_factory=dict)
    eval_split: str = "validation"
    tags: list[str] = field(default_factory=lambda: ["multiner", "named-entity-recognition"])
    example: str = ""


def render_card(
    template: str,
    config,
    processor,
    card_data: Any,
    title: str,
    pipeline_tag: str,
    model_index: list | None = None,
    **values: Any,
) -> str:
    """A model card as Markdown with YAML metadata: `template` rendered with the card data's fields, the model's
    `config`, the processor's window, and `values`. `title` names the model when the card data gives no name
    (followed by the datasets); the encoder's Hub id comes from `config.encoder_name` unless given; `model_index`
    (huggingface_hub `EvalResult`s) goes into the metadata."""
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
        eval_results=model_index,
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


__all__ = ["CARD_NAME", "HYPERPARAMETERS_SECTION", "CardData", "render_card", "write_card"]
