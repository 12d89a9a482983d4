"""Model cards of the joint entity-relation family: YAML metadata and a body rendered from a Jinja template.

The template is a string in this module (not a Markdown file): transformers copies a remote-code model's Python
imports into its module cache, never data files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCardData

from .encoders import hub_id_of_encoder

CARD_NAME = "README.md"

JOINT_ER_CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ model_name }}

A joint **entity and relation extraction** model with deeper task-specificity (Crone, 2020, arXiv:2002.06424),
built with the `multiner` package{% if base_model %} on the encoder [{{ base_model }}](https://huggingface.co/{{ base_model }}){% endif %}.
{% if datasets %}
It was trained on {{ datasets | join(", ") }}.
{% endif %}

Words (their {{ config.word_pooling }} sub-word state{{ ", encoder frozen" if config.freeze_encoder else "" }}) go
through {{ config.num_shared_layers }} shared {{ config.rnn_type | upper }} BiRNN layer(s), then
{{ config.num_ner_layers }} NER-specific and {{ config.num_re_layers }} RE-specific layer(s).
{% if config.ner_head == "bio_crf" %}
Entities: BIO tags with a linear-chain CRF (Viterbi decoding); entities cannot overlap.
{% else %}
Entities: a score per (span of up to {{ config.max_span_length }} words, type); overlapping and nested entities are kept.
{% endif %}
Relations: DistMult per relation type{{ " over head and tail maps" if config.asymmetric_relations else "" }} plus the
cosine distance of transformed entity pairs, a sigmoid per type (threshold {{ config.relation_threshold }}).

| entity types | relation types |
|---|---|
| {{ config.entity_types | join(", ") }} | {{ config.relation_types | join(", ") }} |

## Usage

```python
from transformers import pipeline

extract = pipeline(model="{{ model_id }}", trust_remote_code=True)
found = extract("{{ example }}")
found["entities"]   # [{'entity_group', 'score', 'word', 'start', 'end'}, ...]
found["relations"]  # [{'type', 'score', 'head', 'tail'}, ...]: head and tail index found["entities"]
```

With `multiner` installed, `import multiner` and `pipeline("joint-er", model="{{ model_id }}")` run the installed
code instead. Texts longer than {{ max_length }} tokens are read in overlapping windows ({{ stride }} tokens shared);
a relation whose arguments share no window is not predicted.
{% if hyperparameters %}

## Training

| hyperparameter | value |
|---|---|
{% for name, value in hyperparameters.items() %}
| {{ name }} | {{ value }} |
{% endfor %}
{% endif %}
{% if eval_results %}

## Evaluation ({{ eval_split }} split)

Entities: strict (span and type). Relations: strict (both arguments' spans and types, and the relation type).
Micro pools every decision; macro averages the per-type scores.

| dataset | task | micro P | micro R | micro F1 | macro F1 |
|---|---|---|---|---|---|
{% for dataset, scores in eval_results.items() %}
| {{ dataset }} | entities | {{ "%.2f" % (100 * scores.entities.micro.precision) }} | {{ "%.2f" % (100 * scores.entities.micro.recall) }} | {{ "%.2f" % (100 * scores.entities.micro.f1) }} | {{ "%.2f" % (100 * scores.entities.macro.f1) }} |
| {{ dataset }} | relations (strict) | {{ "%.2f" % (100 * scores.relations.strict.micro.precision) }} | {{ "%.2f" % (100 * scores.relations.strict.micro.recall) }} | {{ "%.2f" % (100 * scores.relations.strict.micro.f1) }} | {{ "%.2f" % (100 * scores.relations.strict.macro.f1) }} |
{% endfor %}
{% endif %}
"""


@dataclass
class JointErCardData:
    """What a card says beyond the model's config and processor.

    Args:
        model_id: the Hub id (or folder) used in the usage snippet.
        model_name: the card's title (default: made from the datasets).
        base_model: Hub id of the encoder (found from the config when built with `from_encoder`).
        datasets, language, license: Hub metadata.
        hyperparameters: training settings shown in a table.
        eval_results: per dataset, `evaluation.relation_scores` output.
        eval_split: the split those results are on.
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
    tags: list[str] = field(default_factory=lambda: ["multiner", "relation-extraction", "named-entity-recognition"])
    example: str = "Ada Lovelace lived in London."


def generate_joint_er_card(config, processor, card_data: JointErCardData | None = None) -> str:
    """The card of a joint entity-relation model, as Markdown with YAML metadata.

    Example:
        >>> card = generate_joint_er_card(model.config, processor, JointErCardData(model_id="me/re"))  # doctest: +SKIP
    """
    import jinja2

    card_data = card_data or JointErCardData()
    base_model = card_data.base_model or hub_id_of_encoder(getattr(config, "encoder_name", None))
    model_name = card_data.model_name or "Joint entity and relation extraction on " + (
        ", ".join(card_data.datasets) or "custom data"
    )
    metadata = ModelCardData(
        library_name="multiner",
        pipeline_tag="token-classification",
        tags=card_data.tags,
        base_model=base_model,
        datasets=card_data.datasets or None,
        license=card_data.license,
        language=card_data.language,
        model_name=model_name,
    )
    environment = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return environment.from_string(JOINT_ER_CARD_TEMPLATE).render(
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
    )


def write_joint_er_card(folder: str | Path, config, processor, card_data: JointErCardData | None = None) -> Path:
    """Write `README.md` (the model card) into a model folder and return its path."""
    path = Path(folder) / CARD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate_joint_er_card(config, processor, card_data), encoding="utf-8")
    return path


__all__ = ["JointErCardData", "generate_joint_er_card", "write_joint_er_card"]
