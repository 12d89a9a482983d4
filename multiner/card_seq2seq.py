"""Model cards of the seq2seq pointer family: YAML metadata and a body rendered from a Jinja template (a string in
this module: transformers copies a remote-code model's Python imports, never data files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .card_core import HYPERPARAMETERS_SECTION, CardData, render_card, write_card

SEQ2SEQ_CARD_TEMPLATE = (
    """---
{{ card_data }}
---

# {{ model_name }}

A **generative NER** model for flat, nested and discontinuous entities: an encoder-decoder that writes each entity
as pointers to its words followed by its type (the BARTNER kind of model, Yan et al. 2021), built with the
`multiner` package{% if base_model %} on [{{ base_model }}](https://huggingface.co/{{ base_model }}){% endif %}.
{% if datasets %}
It was trained on {{ datasets | join(", ") }}.
{% endif %}

{% if config.warm_start %}
Backbone: an encoder and a decoder warm-started from its weights (cross-attention new{{ ", self-attention and feed-forward weights shared" if config.share_encoder_decoder else "" }}).
{% else %}
Backbone: the encoder-decoder model {{ config.encoder_config.model_type }}.
{% endif %}
Targets point at {{ "every word of every fragment" if config.target_mode == "all_words" else "each fragment's first and last word" }};
generation is constrained to well-formed outputs.
{% if config.relation_prediction or config.token_relation_attention or config.entity_type_attention %}

Multi-task additions of Mo et al. (2023):
{% if config.relation_prediction %}- relation prediction over word pairs (None / Begin-End / Inside, focal loss, weight {{ config.relation_loss_weight }});
{% endif %}
{% if config.token_relation_attention %}- token-relation attention: word-pair grid vectors in the decoder's cross-attention;
{% endif %}
{% if config.entity_type_attention %}- entity-type attention: type vectors in every attention layer, type embeddings from an entity base of {{ config.entity_base.values() | map("length") | sum if config.entity_base else 0 }} names (saved in `config.json`).
{% endif %}
{% endif %}

| entity types |
|---|
| {{ config.entity_types | join(", ") }} |

## Usage

```python
from transformers import pipeline

extract = pipeline(model="{{ model_id }}", trust_remote_code=True)
extract("{{ example }}")
# [{'entity_group', 'score', 'word', 'start', 'end', 'fragments': [{'start', 'end', 'word'}, ...]}, ...]
```

A discontinuous entity has several fragments; its `start`/`end` span the first to the last fragment and its `word`
joins the fragments' words with a space. With `multiner` installed, `import multiner` and
`pipeline("seq2seq-ner", model="{{ model_id }}")` run the installed code instead. Texts longer than
{{ max_length }} tokens are read in overlapping windows ({{ stride }} tokens shared). Option `num_beams` (default 1,
greedy).
"""
    + HYPERPARAMETERS_SECTION
    + """{% if eval_results %}

## Evaluation ({{ eval_split }} split)

An entity is correct when its type and every fragment match. Micro precision, recall and F1.

| dataset | entities | P | R | F1 |
|---|---|---|---|---|
{% for dataset, scores in eval_results.items() %}
{% for part in ("all", "discontinuous") %}
| {{ dataset }} | {{ part }} | {{ "%.2f" % (100 * scores[part].precision) }} | {{ "%.2f" % (100 * scores[part].recall) }} | {{ "%.2f" % (100 * scores[part].f1) }} |
{% endfor %}
{% endfor %}
{% endif %}
"""
)


@dataclass
class Seq2SeqNerCardData(CardData):
    """What a card says beyond the model's config and processor (see `CardData`); `eval_results` hold
    `evaluation.fragment_scores` output per dataset."""

    tags: list[str] = field(default_factory=lambda: ["multiner", "named-entity-recognition", "discontinuous-ner"])
    example: str = "I had aching in the legs and shoulders."


def generate_seq2seq_card(config, processor, card_data: Seq2SeqNerCardData | None = None) -> str:
    """The card of a seq2seq pointer model, as Markdown with YAML metadata.

    Example:
        >>> card = generate_seq2seq_card(model.config, processor, Seq2SeqNerCardData(model_id="me/ner"))  # doctest: +SKIP
    """
    card_data = card_data or Seq2SeqNerCardData()
    return render_card(SEQ2SEQ_CARD_TEMPLATE, config, processor, card_data, "Generative NER", "token-classification")


def write_seq2seq_card(folder: str | Path, config, processor, card_data: Seq2SeqNerCardData | None = None) -> Path:
    """Write `README.md` (the model card) into a model folder and return its path."""
    return write_card(folder, generate_seq2seq_card(config, processor, card_data))


__all__ = ["Seq2SeqNerCardData", "generate_seq2seq_card", "write_seq2seq_card"]
