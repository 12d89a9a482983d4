import datasets
from conftest import processor_for
from huggingface_hub import ModelCard
from transformers import Trainer, TrainingArguments, set_seed

from multiner import (
    BERT_MRC,
    MultiNerCardCallback,
    MultiNerCardData,
    MultiNerConfig,
    MultiNerDataCollator,
    MultiNerModel,
    default_encoder_path,
    generate_multiner_card,
)
from multiner.encoders import hub_id_of_encoder
from multiner.training_multiner import MultiNerMetrics, scores_from_trainer_metrics

TYPES = ["PER", "LOC"]
ENCODER = {"model_type": "bert", "hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2}
SCORES = {
    "precision": 0.9,
    "recall": 0.8,
    "f1": 0.8470588,
    "per_type": {
        "PER": {"precision": 0.95, "recall": 0.9, "f1": 0.9243243},
        "LOC": {"precision": 0.85, "recall": 0.7, "f1": 0.7677419},
    },
}


def test_card_metadata_parses_and_body_has_every_section(bert_dir):
    config = MultiNerConfig(encoder_config=ENCODER, entity_types=TYPES, encoder_name=default_encoder_path())
    processor = processor_for(bert_dir, entity_types=TYPES, queries={"PER": "people by name"})
    card_data = MultiNerCardData(
        model_id="someone/multiner-conll",
        datasets=["conll2003"],
        license="apache-2.0",
        hyperparameters={"learning_rate": 3e-4, "num_train_epochs": 3},
        eval_results={"conll2003": SCORES},
    )
    text = generate_multiner_card(config, processor, card_data)
    card = ModelCard(text)
    assert card.data.library_name == "multiner"
    assert card.data.pipeline_tag == "token-classification"
    assert card.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert card.data.datasets == ["conll2003"] and card.data.license == "apache-2.0" and card.data.language == "en"
    results = {(r.dataset_type, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert results == {("conll2003", "precision"): 0.9, ("conll2003", "recall"): 0.8, ("conll2003", "f1"): 0.8470588}
    assert all(r.dataset_split == "validation" for r in card.data.eval_results)

    assert "# Multi-NER on conll2003" in text
    assert "| PER | people by name |" in text
    assert f"| LOC | {processor.queries['LOC']} |" in text
    assert "| PER | 0.9500 | 0.9000 | 0.9243 |" in text
    assert "| **all (micro)** | **0.9000** | **0.8000** | **0.8471** |" in text
    assert "| learning_rate | 0.0003 |" in text
    assert "| heads | per type, plus a shared start / end pair |" in text
    # as published, the model loads with its own code: no package to install (there is no `pip install multiner`)
    assert 'pipeline(model="someone/multiner-conll", trust_remote_code=True)' in text
    assert 'AutoModel.from_pretrained("someone/multiner-conll", trust_remote_code=True)' in text
    assert "pip install multiner" not in text
    assert "## Limitations" in text and "arXiv:2309.11027" in text and "A Unified {MRC} Framework" in text


def test_bert_mrc_card_and_card_without_evaluation(bert_dir):
    config = MultiNerConfig(encoder_config=ENCODER, entity_types=TYPES, **BERT_MRC)
    processor = processor_for(bert_dir, entity_types=TYPES)
    text = generate_multiner_card(config, processor)
    assert ModelCard(text).data.eval_results is None
    assert "# BERT-MRC on custom data" in text and "| heads | shared (BERT-MRC) |" in text
    assert "## Evaluation" not in text and "start / end pair" not in text


def test_hub_id_of_encoder(tmp_path):
    assert hub_id_of_encoder(default_encoder_path()) == "sentence-transformers/all-MiniLM-L6-v2"
    assert hub_id_of_encoder("bert-base-cased/x") == "bert-base-cased/x"
    assert hub_id_of_encoder(str(tmp_path)) is None
    assert hub_id_of_encoder(None) is None


def test_trainer_metrics_back_to_scores():
    metrics = {"eval_precision": 0.5, "eval_recall": 0.25, "eval_f1": 1 / 3, "eval_PER_precision": 1.0}
    metrics |= {"eval_PER_recall": 0.5, "eval_PER_f1": 2 / 3, "eval_loss": 0.1}
    scores = scores_from_trainer_metrics(metrics, TYPES)
    assert scores == {
        "precision": 0.5,
        "recall": 0.25,
        "f1": 1 / 3,
        "per_type": {"PER": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3}},
    }


def test_callback_writes_the_card_with_training_and_evaluation(bert_dir, tmp_path):
    set_seed(0)
    model = MultiNerModel.from_encoder(bert_dir, entity_types=TYPES, max_span_length=8)
    processor = processor_for(bert_dir, entity_types=TYPES, max_span_length=8)
    data = datasets.Dataset.from_list(
        [{"text": "Ada Lovelace lived in London.", "entities": [{"start": 0, "end": 12, "label": "PER"}]}] * 4
    )
    rows = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=2,
        learning_rate=1e-3,
        per_device_train_batch_size=2,
        eval_strategy="epoch",
        save_strategy="epoch",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    callback = MultiNerCardCallback(processor, MultiNerCardData(datasets=["toy"]))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        eval_dataset=rows,
        data_collator=MultiNerDataCollator.from_processor(processor),
        compute_metrics=MultiNerMetrics(TYPES),
        callbacks=[callback],
    )
    trainer.train()
    final = trainer.evaluate()
    card = ModelCard((tmp_path / "out" / "README.md").read_text())
    f1 = {r.metric_type: r.metric_value for r in card.data.eval_results}["f1"]
    assert f1 == final["eval_f1"]
    assert "| learning_rate | 0.001 |" in card.text and "| num_train_epochs | 2 |" in card.text
    assert (tmp_path / "out" / "checkpoint-4" / "README.md").is_file()
