"""Multi-NER model cards for the Hub: metadata (YAML) and a body rendered from the Jinja template below.

The template is a Python string, not a Markdown file: transformers copies a remote-code model's Python imports into
its module cache, never data files, so only a module goes wherever the card code goes (a Hub folder re-saved without
multiner). Written by `MultiNerPipeline.save_pretrained`, by the training callback (`training_multiner`) and by
`write_multiner_card` for any model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import EvalResult

from .card_core import HYPERPARAMETERS_SECTION, CardData, render_card, write_card

MULTINER_CARD_TEMPLATE = (
    """---
{{ card_data }}
---

# {{ model_name }}

A **{{ architecture }}** model for named entity recognition as machine reading comprehension, built with the
`multiner` package{% if base_model %} on the encoder [{{ base_model }}](https://huggingface.co/{{ base_model }}){% endif %}.
{% if datasets %}
It was fine-tuned on {{ datasets | join(", ") }}.
{% endif %}

{% if query_mode == "packed" %}
Each entity type is asked as a natural-language query: the model reads all queries and the text as one sequence,
`[CLS] query_1 [SEP] ... query_n [SEP] text [SEP]` (packed query mode: the query block is encoded once per batch and
each type's view of the text comes from attention to its own query){% else %}
Each entity type is asked as a natural-language query: the model reads `[CLS] query [SEP] text [SEP]` once per type
(all types in one batched encoder call){% endif %}{% if type_attention != "none" %}, lets the per-type representations attend to
each other ("{{ type_attention }}" cross-type attention){% endif %}, and scores entity starts, ends and spans with
{{ "one set of heads shared by all types" if share_heads else "per-type heads" }}{{ " (with a start / end pair every type shares)" if shared_boundary_head else "" }}. It finds flat and **nested**
entities and works on texts of any length (overlapping windows).

## Entity types and their queries

| type | query |
|---|---|
{% for type, query in queries.items() %}
| {{ type }} | {{ query }} |
{% endfor %}

## Usage

The model's code is in this repository, so `transformers` alone runs it (no other package to install):

```python
from transformers import pipeline

ner = pipeline(model="{{ model_id }}", trust_remote_code=True)
ner("{{ example }}")
# [{'entity_group': ..., 'score': ..., 'word': ..., 'start': ..., 'end': ...}, ...]
ner("...", flat=True, threshold=0.3, entity_types=["{{ queries | first }}"])
```

Without `threshold` an entity needs start, end and span-match probabilities above {{ threshold_text }}.

With the `multiner` package installed from its source repository (`pip install -e .` in a clone), the installed
code runs it instead: `import multiner` and `pipeline("multi-ner", model="{{ model_id }}")`.

With the Auto classes:

```python
import torch
from transformers import AutoModel, AutoProcessor

model = AutoModel.from_pretrained("{{ model_id }}", trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained("{{ model_id }}", trust_remote_code=True)
batch = processor(["{{ example }}"])
with torch.no_grad():
    entities = processor.decode(model(**batch), batch)
```

## Model details

| setting | value |
|---|---|
| architecture | {{ architecture }} |
| encoder | {{ base_model or "see config.json" }} |
| query mode | {{ query_mode }} |
| type attention | {{ type_attention }} |
| heads | {{ "shared (BERT-MRC)" if share_heads else "per type" }}{{ ", plus a shared start / end pair" if shared_boundary_head else "" }} |
| longest entity | {{ max_span_length }} sub-word tokens |
| window | {{ max_length }} tokens, stride {{ stride }} |
| decision threshold | {{ threshold_text }} |
"""
    + HYPERPARAMETERS_SECTION
    + """{% if eval_results %}

## Evaluation

Strict span matching (label, start and end must all agree), micro-averaged.
{% for dataset, scores in eval_results.items() %}

### {{ dataset }} ({{ eval_split }} split)

| type | precision | recall | F1 |
|---|---|---|---|
{% for type, type_scores in scores.per_type.items() %}
| {{ type }} | {{ "%.4f" % type_scores.precision }} | {{ "%.4f" % type_scores.recall }} | {{ "%.4f" % type_scores.f1 }} |
{% endfor %}
| **all (micro)** | **{{ "%.4f" % scores.precision }}** | **{{ "%.4f" % scores.recall }}** | **{{ "%.4f" % scores.f1 }}** |
{% endfor %}
{% endif %}

## Limitations

- The encoder runs once per entity type, so cost grows with the number of types.
- Entities longer than {{ max_span_length }} sub-word tokens cannot be found.
- Asking for a subset of types (`entity_types=`) also restricts the cross-type attention to that subset, so scores
  can differ slightly from a run over all types.
- Scores are the geometric mean of the start, end and span-match probabilities; they are not calibrated.
{% if eval_results %}
- The evaluation figures above are on the split named with them; a development split is not a test split.
{% endif %}

## Citation

```bibtex
@article{wang2023multiner,
  title   = {Named Entity Recognition via Machine Reading Comprehension: A Multi-Task Learning Approach},
  author  = {Wang, Yibo and Zhao, Wenting and Wan, Yao and Deng, Zhongfen and Yu, Philip S.},
  journal = {arXiv preprint arXiv:2309.11027},
  year    = {2023}
}

@inproceedings{li2020unified,
  title     = {A Unified {MRC} Framework for Named Entity Recognition},
  author    = {Li, Xiaoya and Feng, Jingrong and Meng, Yuxian and Han, Qinghong and Wu, Fei and Li, Jiwei},
  booktitle = {Proceedings of the 58th Annual Meeting of the Association for Computational Linguistics},
  pages     = {5849--5859},
  year      = {2020}
}
```
"""
)


@dataclass
class MultiNerCardData(CardData):
    """What a card says beyond the model's own config and processor.

    Args:
        model_id: the Hub id (or folder) used in the usage snippets.
        model_name: the card's title; defaults to a name made from the architecture and datasets.
        base_model: Hub id of the encoder; found from the model config when it was built with `from_encoder`.
        language, license: Hub metadata.
        datasets: Hub ids or names of the training data.
        hyperparameters: training settings shown in a table.
        eval_results: per evaluation dataset, `span_scores`-style results (micro P/R/F1 and `per_type`).
        eval_split: the split those results are on.
    """

    tags: list[str] = field(default_factory=lambda: ["multiner", "named-entity-recognition", "nested-ner", "mrc"])
    example: str = "Ada Lovelace was born in London and worked with Charles Babbage."


def generate_multiner_card(config, processor, card_data: MultiNerCardData | None = None) -> str:
    """The card of a model (its `MultiNerConfig`) with its processor, as Markdown with YAML metadata.

    Example:
        >>> card = generate_multiner_card(model.config, processor, MultiNerCardData(model_id="me/ner"))  # doctest: +SKIP
    """
    card_data = card_data or MultiNerCardData()
    architecture = "BERT-MRC" if config.share_heads and config.type_attention == "none" else "Multi-NER"
    return render_card(
        MULTINER_CARD_TEMPLATE,
        config,
        processor,
        card_data,
        architecture,
        "token-classification",
        model_index=_eval_results(card_data) or None,
        architecture=architecture,
        queries=processor.queries,
        type_attention=config.type_attention,
        query_mode=config.query_mode,
        share_heads=config.share_heads,
        shared_boundary_head=config.shared_boundary_head,
        max_span_length=config.max_span_length,
        threshold_text=threshold_text(config),
    )


def threshold_text(config) -> str:
    """How the card states the decision threshold: calibrated, or the uncalibrated default."""
    if config.decision_threshold is None:
        return "0.5 (the default; not calibrated)"
    return f"{config.decision_threshold:g} (calibrated on held-out training data)"


def write_multiner_card(folder: str | Path, config, processor, card_data: MultiNerCardData | None = None) -> Path:
    """Write `README.md` (the model card) into a model folder and return its path."""
    return write_card(folder, generate_multiner_card(config, processor, card_data))


def _eval_results(card_data: MultiNerCardData) -> list[EvalResult]:
    return [
        EvalResult(
            task_type="token-classification",
            task_name="Named Entity Recognition",
            dataset_type=dataset,
            dataset_name=dataset,
            dataset_split=card_data.eval_split,
            metric_type=name,
            metric_name=f"strict span {name} (micro)",
            metric_value=float(scores[name]),
        )
        for dataset, scores in card_data.eval_results.items()
        for name in ("precision", "recall", "f1")
    ]


__all__ = ["MULTINER_CARD_TEMPLATE", "MultiNerCardData", "generate_multiner_card", "write_multiner_card"]
