"""The Jinja template of Multi-NER model cards (rendered by `hub_cards.generate_model_card`).

A Python module rather than a Markdown file: transformers copies a remote-code model's Python imports into its module
cache, never data files, so only a module goes wherever the card code goes (a Hub folder re-saved without multiner).
"""

MODEL_CARD_TEMPLATE = """---
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
{{ "one set of heads shared by all types" if share_heads else "per-type heads" }}. It finds flat and **nested**
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
| heads | {{ "shared (BERT-MRC)" if share_heads else "per type" }} |
| longest entity | {{ max_span_length }} sub-word tokens |
| window | {{ max_length }} tokens, stride {{ stride }} |
| decision threshold | {{ threshold_text }} |
{% if hyperparameters %}

## Training hyperparameters

| hyperparameter | value |
|---|---|
{% for name, value in hyperparameters.items() %}
| {{ name }} | {{ value }} |
{% endfor %}
{% endif %}
{% if eval_results %}

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
