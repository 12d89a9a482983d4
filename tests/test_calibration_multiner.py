"""Calibrated decoding: the decision threshold chosen on held-out data, saved in the config, used by default."""

import pytest
import torch
from conftest import NESTED, as_dataset, tiny_config
from transformers import AutoModel, AutoProcessor, Trainer, TrainingArguments, pipeline

from multiner import (
    MultiNerCalibrationCallback,
    MultiNerConfig,
    MultiNerDataCollator,
    MultiNerModel,
    MultiNerProcessor,
    calibrate_threshold,
    generate_multiner_card,
)
from multiner.modeling_core import masked_bce
from multiner.training_core import THRESHOLD_GRID, choose_threshold, head_optimizer
from multiner.training_multiner import rarity_positive_weights, threshold_sweep

EXAMPLES = [
    {"text": text, "entities": [{"start": s, "end": e, "label": label} for s, e, label in entities]}
    for text, entities in NESTED
]


def test_choose_threshold_smooths_the_curve_and_breaks_ties_towards_one_half():
    # 0.1 is a lone spike; 0.3-0.5 is the best neighbourhood
    curve = {0.1: 0.9, 0.2: 0.1, 0.3: 0.7, 0.4: 0.8, 0.5: 0.7, 0.6: 0.2}
    assert choose_threshold(curve) == 0.4
    assert choose_threshold(dict.fromkeys((0.1, 0.2, 0.3, 0.5, 0.7, 0.8), 0.5)) == 0.5
    assert choose_threshold({0.2: 0.6, 0.3: 0.6, 0.7: 0.6, 0.8: 0.6}) in (0.3, 0.7)
    assert THRESHOLD_GRID[0] == 0.05 and THRESHOLD_GRID[-1] == 0.9 and len(THRESHOLD_GRID) == 18


def test_positive_weight_scales_the_loss_of_positive_targets():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    targets = torch.tensor([[1.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, False]])
    positive, negative = torch.log1p(torch.exp(torch.tensor(-2.0))), torch.log1p(torch.exp(torch.tensor(-1.0)))
    assert masked_bce(logits, targets, mask).item() == pytest.approx(((positive + negative) / 2).item())
    assert masked_bce(logits, targets, mask, 4.0).item() == pytest.approx(((4 * positive + negative) / 2).item())


def test_positive_weights_per_type_weigh_each_types_positives(bert_dir):
    """A list of weights gives each type its own: the same loss as one number when they are equal; a larger weight
    for ORG raises the loss of a sentence with an ORG entity and leaves one without ORG where it was."""
    types = ["PER", "LOC", "ORG"]

    def loss(weight, example):
        torch.manual_seed(0)
        model = MultiNerModel.from_encoder(bert_dir, entity_types=types, positive_weight=weight).eval()
        processor = MultiNerProcessor.from_model(model)
        rows = processor.preprocess({"text": [example["text"]], "entities": [example["entities"]]})
        inputs = MultiNerDataCollator.from_processor(processor)([{key: value[0] for key, value in rows.items()}])
        with torch.no_grad():
            return model(**inputs).loss.item()

    with_org, without_org = EXAMPLES[1], EXAMPLES[0]
    assert "ORG" in {e["label"] for e in with_org["entities"]} - {e["label"] for e in without_org["entities"]}
    assert loss([5.0, 5.0, 5.0], with_org) == pytest.approx(loss(5.0, with_org))
    assert loss([5.0, 5.0, 20.0], with_org) > loss(5.0, with_org) + 1e-3
    assert loss([5.0, 5.0, 20.0], without_org) == pytest.approx(loss(5.0, without_org))
    with pytest.raises(ValueError, match="3 entity types"):
        tiny_config(bert_dir, positive_weight=[5.0, 5.0])
    with pytest.raises(ValueError, match="positive_weight"):
        tiny_config(bert_dir, positive_weight=[5.0, 0.0, 5.0])


def test_rarity_positive_weights_grow_with_the_square_root_of_rarity():
    examples = [{"entities": [{"label": "PER"}] * 16 + [{"label": "LOC"}] * 4 + [{"label": "ORG"}]}]
    assert rarity_positive_weights(examples, ["PER", "LOC", "ORG", "MISC"]) == [5.0, 10.0, 20.0, 20.0]
    assert rarity_positive_weights(examples, ["LOC", "ORG"], base=2.0) == [2.0, 4.0]
    assert rarity_positive_weights([], ["PER"]) == [5.0]


def test_config_owns_the_decision_threshold(bert_dir, tmp_path):
    config = tiny_config(bert_dir)
    assert config.decision_threshold is None and config.threshold == 0.5
    config = tiny_config(bert_dir, decision_threshold=0.25, positive_weight=3.0)
    config.save_pretrained(tmp_path)
    loaded = MultiNerConfig.from_pretrained(tmp_path)
    assert (loaded.decision_threshold, loaded.threshold, loaded.positive_weight) == (0.25, 0.25, 3.0)
    for bad in (1.0, -0.1, True):
        with pytest.raises(ValueError, match="decision_threshold"):
            tiny_config(bert_dir, decision_threshold=bad)
    with pytest.raises(ValueError, match="positive_weight"):
        tiny_config(bert_dir, positive_weight=0.0)


def test_pipeline_and_decode_use_the_config_threshold_unless_one_is_given(packed_dir):
    model = AutoModel.from_pretrained(packed_dir).eval()
    # a processor built from the model reads the model's own config object
    processor = MultiNerProcessor.from_model(model, tokenizer=AutoProcessor.from_pretrained(packed_dir).tokenizer)
    text = NESTED[1][0]
    ner = pipeline("multi-ner", model=model, processor=processor)
    everything = ner(text, threshold=0.0)
    assert len(everything) > len(ner(text, threshold=0.5)) > 0

    # a threshold set on the model's config (as calibration does) is the new default
    model.config.decision_threshold = 0.0
    assert processor.threshold == 0.0
    assert ner(text) == everything
    assert ner(text, threshold=0.5) == ner(text, threshold=0.5, flat=False)
    batch = processor(text=[text])
    with torch.no_grad():
        outputs = model(**batch)
    assert processor.decode(outputs, batch) == processor.decode(outputs, batch, threshold=0.0)
    model.config.decision_threshold = 0.9999
    assert ner(text) == ner(text, threshold=0.9999) and len(ner(text)) < len(everything)
    assert len(ner(text, threshold=0.0)) == len(everything)  # an explicit threshold wins


def test_sweep_matches_decoding_at_each_threshold(packed_dir):
    model = AutoModel.from_pretrained(packed_dir).eval()
    processor = AutoProcessor.from_pretrained(packed_dir)
    sweep = threshold_sweep(model, processor, EXAMPLES, thresholds=(0.2, 0.5, 0.95), batch_size=2)
    for threshold, scores in sweep.items():
        batch = processor(text=[example["text"] for example in EXAMPLES])
        with torch.no_grad():
            found = processor.decode(model(**batch), batch, threshold=threshold)
        correct = sum(
            len({(e["entity_group"], e["start"], e["end"]) for e in entities}
                & {(g["label"], g["start"], g["end"]) for g in example["entities"]})
            for entities, example in zip(found, EXAMPLES)
        )  # fmt: skip
        predicted = sum(len(entities) for entities in found)
        assert scores["precision"] == pytest.approx(correct / predicted if predicted else 0.0)
    assert sweep[0.5]["f1"] == 1.0  # the model knows these sentences by heart


def test_calibration_writes_the_chosen_threshold_to_the_config(packed_dir, tmp_path):
    model = AutoModel.from_pretrained(packed_dir).eval()
    processor = AutoProcessor.from_pretrained(packed_dir)
    calibration = calibrate_threshold(model, processor, EXAMPLES)
    assert calibration.entities == 11 and calibration.examples == 5 and calibration.reason is None
    assert set(calibration.f1) == set(THRESHOLD_GRID)
    assert calibration.threshold == choose_threshold(calibration.f1)
    assert model.config.decision_threshold == calibration.threshold
    assert calibration.f1[calibration.threshold] == max(calibration.f1.values())
    model.save_pretrained(tmp_path)
    assert MultiNerConfig.from_pretrained(tmp_path).decision_threshold == calibration.threshold
    card = generate_multiner_card(model.config, processor)
    assert f"| decision threshold | {calibration.threshold:g} (calibrated on held-out training data) |" in card

    # too few held-out entities: the threshold is left alone and the reason given
    model.config.decision_threshold = None
    few = calibrate_threshold(model, processor, EXAMPLES[:2])
    assert few.threshold is None and "5 gold entities" in few.reason and model.config.decision_threshold is None
    assert "0.5 (the default; not calibrated)" in generate_multiner_card(model.config, processor)


@pytest.mark.parametrize("better_examples, moves", [(2, False), (20, True)])
def test_calibration_moves_the_threshold_only_beyond_the_held_out_noise(
    packed_dir, monkeypatch, better_examples, moves
):
    """40 held-out sentences with one gold entity each; at 0.5 the model finds half of them. From 0.7 up it finds
    `better_examples` more: 2 more is a higher F1 on the slice but within its noise, 20 more is not."""
    import multiner.training_multiner as training_multiner

    model, processor = AutoModel.from_pretrained(packed_dir), AutoProcessor.from_pretrained(packed_dir)
    gold = [[("PER", 0, 1)] for _ in range(40)]
    at_half = [[("PER", 0, 1)] if index % 2 else [] for index in range(40)]
    at_07 = [[("PER", 0, 1)] if index % 2 or index < 2 * better_examples else [] for index in range(40)]

    def decoded_at(model, processor, examples, thresholds, flat, batch_size):
        return gold, {t: at_07 if t >= 0.7 else at_half for t in thresholds}

    monkeypatch.setattr(training_multiner, "_decoded_at", decoded_at)
    model.config.decision_threshold = None
    calibration = calibrate_threshold(model, processor, [{"tokens": ["x"], "entities": [1]}] * 40)
    chosen = choose_threshold(calibration.f1)
    assert chosen >= 0.7 and calibration.f1[chosen] > calibration.f1[0.5]
    assert 0.0 <= calibration.confidence <= 1.0
    if moves:
        assert calibration.threshold == model.config.decision_threshold == chosen and calibration.reason is None
        assert calibration.confidence >= 0.95
    else:
        assert calibration.threshold is None and model.config.decision_threshold is None
        assert calibration.confidence < 0.95 and "within the slice's noise" in calibration.reason


def test_callback_calibrates_when_the_stock_trainer_finishes(bert_dir, tmp_path):
    model = MultiNerModel.from_encoder(bert_dir, entity_types=["PER", "LOC", "ORG"], max_span_length=8)
    processor = MultiNerProcessor.from_model(model)
    data = as_dataset(NESTED)
    rows = data.map(processor.preprocess, batched=True, remove_columns=data.column_names)
    callback = MultiNerCalibrationCallback(processor, EXAMPLES)
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=2, report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True
    )
    collator = MultiNerDataCollator.from_processor(processor)
    Trainer(model=model, args=args, train_dataset=rows, data_collator=collator, callbacks=[callback]).train()
    assert callback.calibration.threshold in THRESHOLD_GRID
    assert model.config.decision_threshold == callback.calibration.threshold
    assert model.training  # calibration leaves the model in the mode it found it


def test_head_optimizer_gives_the_new_parts_their_own_rate(bert_dir):
    model = MultiNerModel.from_encoder(bert_dir, entity_types=["PER", "LOC"], query_mode="packed")
    optimizer = head_optimizer(model, learning_rate=1e-4, head_learning_rate=1e-3, weight_decay=0.01)
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    decay = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    assert len(rate) == sum(1 for p in model.parameters() if p.requires_grad)  # each parameter exactly once
    assert {rate[id(p)] for p in model.encoder.parameters()} == {1e-4}
    for name, parameter in model.named_parameters():
        if not name.startswith("encoder."):
            assert rate[id(parameter)] == 1e-3, name
        assert decay[id(parameter)] == (0.0 if "bias" in name or "norm" in name.lower() else 0.01), name
    with pytest.raises(ValueError, match="head_learning_rate"):
        head_optimizer(model, 1e-4, 0.0)
