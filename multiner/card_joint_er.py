"""Model cards of the joint entity-relation family: YAML metadata and a body rendered from a Jinja template (a
string in this module: transformers copies a remote-code model's Python imports, never data files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .card_core import HYPERPARAMETERS_SECTION, CardData, render_card, write_card

JOINT_ER_CARD_TEMPLATE = (
    """---
{{ card_data }}
---

# {{ model_name }}

A joint **entity and relation extraction** model with deeper task-specificity (Crone, 2020, arXiv:2002.06424),
built with the `multiner` package{% if base_model %} on the encoder [{{ base_model }}](https://huggingface.co/{{ base_model }}){% endif %}.
{% if datasets %}
It was trained on {{ datasets | join(", ") }}.
{% endif %}

Words (their {{ config.word_pooling }} sub-word state{{ ", encoder frozen" if config.freeze_encoder else "" }}{{ ", a casing vector" if config.casing_features else "" }}{{ ", a character BiLSTM vector" if config.char_features else "" }}) go
through {{ config.num_shared_layers }} shared {{ config.rnn_type | upper }} BiRNN layer(s), then
{{ config.num_ner_layers }} NER-specific and {{ config.num_re_layers }} RE-specific layer(s).
{% if config.ner_head == "bio_crf" %}
Entities: BIO tags with a linear-chain CRF (Viterbi decoding); entities cannot overlap.
{% elif config.ner_head == "start_end_span" %}
Entities: Multi-NER's start, end and span heads per type{{ ", plus a start / end pair every type shares" if config.shared_boundary_head else "" }} (spans of up to {{ config.max_span_length }} words; an entity where all three probabilities exceed {{ config.entity_threshold }}){% if config.overlapping_entities %}; overlapping and nested entities are kept{% else %}; of overlapping predicted spans the most probable is kept (flat entities){% endif %}.
{% else %}
Entities: a score per (span of up to {{ config.max_span_length }} words, type){% if config.overlapping_entities %}; overlapping and nested entities are kept{% else %}; of overlapping predicted spans the most probable is kept (flat entities){% endif %}.
{% endif %}
Relations: DistMult per relation type{{ " over head and tail maps" if config.asymmetric_relations else " over layer-normalised entities (symmetric)" }} plus the
cosine distance of transformed entity pairs{{ ", plus a feed-forward layer over both entities' and the words-between's mean states (as SpERT scores pairs)" if config.relation_context else "" }}, a sigmoid per type (threshold {{ config.relation_threshold }}).

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
"""
    + HYPERPARAMETERS_SECTION
    + """{% if eval_results %}

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
)


@dataclass
class JointErCardData(CardData):
    """What a card says beyond the model's config and processor (see `CardData`); `eval_results` hold
    `evaluation.relation_scores` output per dataset."""

    tags: list[str] = field(default_factory=lambda: ["multiner", "relation-extraction", "named-entity-recognition"])
    example: str = "Ada Lovelace lived in London."


def generate_joint_er_card(config, processor, card_data: JointErCardData | None = None) -> str:
    """The card of a joint entity-relation model, as Markdown with YAML metadata.

    Example:
        >>> card = generate_joint_er_card(model.config, processor, JointErCardData(model_id="me/re"))  # doctest: +SKIP
    """
    card_data = card_data or JointErCardData()
    title = "Joint entity and relation extraction"
    return render_card(JOINT_ER_CARD_TEMPLATE, config, processor, card_data, title, "token-classification")


def write_joint_er_card(folder: str | Path, config, processor, card_data: JointErCardData | None = None) -> Path:
    """Write `README.md` (the model card) into a model folder and return its path."""
    return write_card(folder, generate_joint_er_card(config, processor, card_data))


__all__ = ["JointErCardData", "generate_joint_er_card", "write_joint_er_card"]
