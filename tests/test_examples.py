"""The training script runs end to end, in one process and data-parallel under accelerate (2 CPU processes)."""

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModel, AutoProcessor

import multiner
from multiner.ner_metric import headline

ROOT = Path(__file__).resolve().parents[1]
CONLL = """-DOCSTART- -X- O O

Ada NNP B-NP I-PER
Lovelace NNP I-NP I-PER
lived VBD B-VP O
in IN B-PP O
London NNP B-NP I-LOC
. . O O

Alan NNP B-NP I-PER
Turing NNP I-NP I-PER
joined VBD B-VP O
the DT B-NP O
Bank NNP I-NP I-ORG
of IN I-NP I-ORG
England NNP I-NP I-ORG
. . O O
"""


@pytest.fixture
def conll_file(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL * 4)
    return path


def train_command(bert_dir, conll_file, output_dir):
    return [
        "examples/train.py",
        "--encoder", bert_dir,
        "--train_file", str(conll_file),
        "--validation_file", str(conll_file),
        "--output_dir", str(output_dir),
        "--do_train",
        "--num_train_epochs", "3",
        "--per_device_train_batch_size", "2",
        "--learning_rate", "1e-3",
        "--max_span_length", "8",
        "--flat",
        "--report_to", "none",
        "--save_strategy", "no",
        "--disable_tqdm", "true",
    ]  # fmt: skip


def check_saved_model(output_dir, processes, query_mode="per_type", calibrated=False):
    metrics = json.loads((output_dir / "results.json").read_text())
    assert {"eval_f1", "eval_PER_f1", "eval_seqeval_f1", "train_loss"} <= set(metrics)
    assert metrics["world_size"] == processes
    if calibrated:
        # the last of the 8 sentences is held out; its 2 entities are too few to move the threshold from 0.5
        assert metrics["calibration_examples"] == 1 and metrics["decision_threshold"] is None
    else:  # the default: every sentence trains, no threshold is chosen
        assert "calibration_examples" not in metrics
    model = AutoModel.from_pretrained(output_dir).eval()
    if not calibrated:  # rarity weights by default: PER 8 training entities, LOC and ORG 4 each
        assert model.config.positive_weight == pytest.approx([5 * 2**0.5, 5 * 2**0.5, 5.0], abs=1e-3)
    assert (output_dir / "README.md").is_file() and (output_dir / "model.safetensors").is_file()
    processor = AutoProcessor.from_pretrained(output_dir)
    assert model.config.entity_types == ["LOC", "ORG", "PER"]
    assert model.config.query_mode == processor.query_mode == query_mode
    batch = processor(tokens=[["Ada", "Lovelace", "lived", "in", "London", "."]])
    with torch.no_grad():
        found = processor.decode(model(**batch), batch)
    assert isinstance(found, list) and len(found) == 1


def test_calibration_is_on_for_nested_decoding_and_off_for_flat_by_default():
    sys.path.insert(0, str(ROOT / "examples"))
    script = importlib.import_module("train")
    arguments = ["--train_file", "train", "--validation_file", "dev", "--output_dir", "out"]
    assert script.parse_args(arguments)[1].calibration_fraction == 0.1
    assert script.parse_args([*arguments, "--flat"])[1].calibration_fraction == 0.0
    assert script.parse_args([*arguments, "--flat", "--calibration_fraction", "0.2"])[1].calibration_fraction == 0.2


def test_calibration_slice_is_the_last_fraction_of_the_training_examples():
    spec = importlib.util.spec_from_file_location("train_script", ROOT / "examples" / "train.py")
    script = importlib.util.module_from_spec(spec)
    sys.modules["train_script"] = script  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(script)
    finally:
        del sys.modules["train_script"]
    documents = [[{"id": i} for i in range(4)], [{"id": i} for i in range(4, 10)]]
    kept, held_out = script.hold_out_last(documents, 0.2)
    assert [[e["id"] for e in d] for d in kept] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [e["id"] for e in held_out] == [8, 9]
    kept, held_out = script.hold_out_last(documents, 0.01)  # at least one example
    assert [e["id"] for e in held_out] == [9] and sum(map(len, kept)) == 9
    with pytest.raises(ValueError, match="calibration_fraction"):
        script.hold_out_last(documents, 1.0)


@pytest.mark.parametrize("query_mode", ["per_type", "packed"])
def test_train_script_single_process(bert_dir, conll_file, tmp_path, query_mode):
    output_dir = tmp_path / "out"
    # the per-type run also calibrates its threshold on a held-out slice (off by default with --flat)
    calibration = ["--calibration_fraction", "0.1"] if query_mode == "per_type" else []
    result = subprocess.run(
        [sys.executable, *train_command(bert_dir, conll_file, output_dir), "--query_mode", query_mode, *calibration],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    check_saved_model(output_dir, processes=1, query_mode=query_mode, calibrated=bool(calibration))


def test_train_script_resumes_from_a_checkpoint(bert_dir, conll_file, tmp_path):
    """examples/train.py --resume_from_checkpoint: the training resumed after its first epoch ends with the
    uninterrupted training's weights, and trained only the last two epochs (its mean loss is the uninterrupted
    training's over those steps)."""

    def train(output_dir, *arguments):
        command = [
            *train_command(bert_dir, conll_file, output_dir),
            "--save_strategy",
            "epoch",
            "--logging_steps",
            "1",
            *arguments,
        ]
        result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        loss = json.loads((output_dir / "results.json").read_text())["train_loss"]
        return AutoModel.from_pretrained(output_dir).state_dict(), loss

    whole, whole_loss = train(tmp_path / "whole")
    # 8 sentences in batches of 2: 4 steps an epoch
    assert sorted(path.name for path in (tmp_path / "whole").glob("checkpoint-*")) == [
        "checkpoint-12",
        "checkpoint-4",
        "checkpoint-8",
    ]
    resumed, resumed_loss = train(
        tmp_path / "resumed", "--resume_from_checkpoint", str(tmp_path / "whole" / "checkpoint-4")
    )
    assert all(torch.equal(whole[name], resumed[name]) for name in whole)
    state = json.loads((tmp_path / "whole" / "checkpoint-12" / "trainer_state.json").read_text())
    losses = {entry["step"]: entry["loss"] for entry in state["log_history"] if "loss" in entry}
    assert sorted(losses) == list(range(1, 13))
    assert whole_loss == pytest.approx(sum(losses.values()) / 12, abs=1e-3)
    assert resumed_loss == pytest.approx(sum(losses[step] for step in range(5, 13)) / 8, abs=1e-3)


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate's launcher is not on PATH")
def test_train_script_under_accelerate_with_two_processes(bert_dir, conll_file, tmp_path):
    output_dir = tmp_path / "out"
    # accelerate's --cpu flag starts a single process; --multi_gpu is its torchrun launcher, which with the Trainer's
    # --use_cpu gives 2 CPU processes over gloo.
    launcher = [
        "accelerate",
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
    ]
    command = [*launcher, "--dynamo_backend", "no", *train_command(bert_dir, conll_file, output_dir)]
    command += ["--use_cpu", "--ddp_find_unused_parameters", "false"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    check_saved_model(output_dir, processes=2)


SCRIPTS = {"train": "conll", "train_joint_er": "spert", "train_seq2seq": "discontinuous"}


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_the_three_scripts_speak_one_language(script):
    """The same flag names the same thing in every script: the encoder, the pretrained weights' and the new parts'
    learning rates, epochs and batch size (TrainingArguments), the data format and the sample limits."""
    sys.path.insert(0, str(ROOT / "examples"))
    module = importlib.import_module(script)
    arguments = ["--train_file", "train", "--validation_file", "dev", "--output_dir", "out", "--encoder", "enc"]
    arguments += ["--learning_rate", "2e-5", "--head_learning_rate", "3e-3", "--num_train_epochs", "2"]
    arguments += ["--per_device_train_batch_size", "4", "--data_format", SCRIPTS[script], "--seed", "7"]
    arguments += ["--max_train_samples", "10", "--max_eval_samples", "5", "--weight_decay", "0.02"]
    model_args, data_args, training_args = module.parse_args(arguments)
    assert (model_args.encoder, model_args.head_learning_rate) == ("enc", 3e-3)
    assert (data_args.data_format, data_args.max_train_samples, data_args.max_eval_samples) == (SCRIPTS[script], 10, 5)
    assert (training_args.learning_rate, training_args.num_train_epochs, training_args.seed) == (2e-5, 2, 7)
    assert (training_args.per_device_train_batch_size, training_args.weight_decay) == (4, 0.02)
    with pytest.raises(ValueError, match=r"not used by the HfArgumentParser: \['--epochs', '3'\]"):  # old names
        module.parse_args([*arguments, "--epochs", "3"])


def test_seq2seq_script_entity_base_follows_its_flags():
    """ETA's type embeddings start from the training entities by default, from the type names alone with
    --type_names_only; without ETA there is no entity base."""
    sys.path.insert(0, str(ROOT / "examples"))
    import train_seq2seq

    train = [{"text": "Aspirin helps.", "entities": [{"start": 0, "end": 7, "label": "Drug"}]}]
    files = ["--train_file", "train.txt", "--validation_file", "dev.txt", "--output_dir", "out"]

    def base(*arguments):
        return train_seq2seq.entity_base_for(train_seq2seq.parse_args(files + list(arguments))[0], train)

    assert base() is None and base("--type_names_only") is None
    assert base("--entity_type_attention") == {"Drug": {"Aspirin": 1}}
    assert base("--entity_type_attention", "--type_names_only") is None


def test_joint_er_script_calibrates_the_span_head_by_default():
    sys.path.insert(0, str(ROOT / "examples"))
    import train_joint_er

    def fraction(*arguments):
        files = ["--train_file", "train.json", "--validation_file", "dev.json", "--output_dir", "out"]
        return train_joint_er.parse_args(files + list(arguments))[1].calibration_fraction

    assert fraction() == 0.0 and fraction("--ner_head", "span") == 0.1
    assert fraction("--ner_head", "span", "--calibration_fraction", "0") == 0.0
    assert fraction("--calibration_fraction", "0.2") == 0.2


def test_joint_er_script_on_real_conll04(bert_dir, shared_data, tmp_path):
    """examples/train_joint_er.py on the first CoNLL04 sentences (tiny encoder, frozen): it trains, scores the dev
    split on raw text through the pipeline after each epoch and at the end, and writes a folder whose reloaded
    pipeline predicts the same."""
    sys.path.insert(0, str(ROOT / "examples"))
    import train_joint_er

    conll04 = shared_data / "conll04"
    output = tmp_path / "joint"
    results = train_joint_er.main(
        [
            "--train_file",
            str(conll04 / "train_triples.json"),
            "--validation_file",
            str(conll04 / "dev_triples.json"),
            "--encoder",
            bert_dir,
            "--max_train_samples",
            "24",
            "--num_train_epochs",
            "2",
            "--score_each_epoch",
            "--freeze_encoder",
            "--calibration_fraction",
            "0.1",
            "--output_dir",
            str(output),
        ]
    )
    assert results["unrepresentable"] == {} and results["validation_examples"] == 231
    # a dev curve through the same metric: its last point is the final score (the thresholds did not move)
    assert [point["epoch"] for point in results["dev_curve"]] == [1.0, 2.0]
    assert results["dev_curve"][-1] == {"epoch": 2.0, **headline(results["scores"])}
    # the last 10% (2 sentences) held out to calibrate on: too few gold relations to move the thresholds
    assert results["train_examples"] == 22 and results["calibration"]["held_out_examples"] == 2
    assert (
        results["calibration"]["relation_threshold"] is None
        and "fewer than 10" in results["calibration"]["reasons"][-1]
    )
    assert results["trainable_parameters"] == results["trainable_outside_encoder"] < results["parameters"]
    assert set(results["scores"]["relations"]) == {"strict", "boundaries"}
    # CoNLL04 comes as words: scored again on them (the papers' protocol), the oracle too
    assert set(results["word_scores"]) == {"entities", "relations"}
    assert results["word_scores"]["entities"]["micro"]["gold"] == results["scores"]["entities"]["micro"]["gold"] == 893
    assert 0.0 <= results["word_oracle_relations"]["micro"]["f1"] <= 1.0
    saved = json.loads((output / "results.json").read_text())
    assert saved["scores"] == results["scores"] and saved["command"].startswith("python examples/train_joint_er.py")
    from transformers import pipeline

    text = "John Smith , who works for IBM , lives in Boston ."
    reloaded = pipeline("joint-er", model=str(output))
    assert reloaded.model.config.entity_types == ["Loc", "Org", "Other", "Peop"]
    assert reloaded(text) == reloaded([text])[0]
    assert "trained on conll04" in (output / "README.md").read_text()


def test_joint_er_script_trains_on_the_datasets_words(bert_dir, shared_data, tmp_path):
    """--split_into_words trains on CoNLL04's own words ("Boise." one word) and scores both protocols; raw-text data
    has no words to train on."""
    sys.path.insert(0, str(ROOT / "examples"))
    import train_joint_er

    conll04 = shared_data / "conll04"
    files = [
        "--train_file",
        str(conll04 / "train_triples.json"),
        "--validation_file",
        str(conll04 / "dev_triples.json"),
    ]
    arguments = ["--encoder", bert_dir, "--max_train_samples", "24", "--max_eval_samples", "12", "--freeze_encoder"]
    arguments += ["--num_train_epochs", "1", "--output_dir", str(tmp_path / "words"), "--split_into_words"]
    train, validation, validation_words, _ = train_joint_er.load_data(train_joint_er.parse_args(files + arguments)[1])
    assert (
        "tokens" in train[0]
        and "text" in validation[0]
        and validation_words[0]["tokens"] == validation[0]["text"].split(" ")
    )
    results = train_joint_er.main(files + arguments)
    assert results["train_examples"] == 24 and results["word_scores"]["entities"]["micro"]["gold"] > 0
    with pytest.raises(ValueError, match="--split_into_words needs word-format data"):
        train_joint_er.parse_args(files + arguments + ["--data_format", "jsonl"])


def test_seq2seq_script_on_real_cadec(bert_dir, shared_data, tmp_path):
    """examples/train_seq2seq.py on the first CADEC sentences (tiny warm-started pair): it trains, scores dev
    sentences on raw text greedy and with beam search, and writes a folder whose reloaded pipeline predicts the
    same."""
    sys.path.insert(0, str(ROOT / "examples"))
    import train_seq2seq

    cadec = shared_data / "cadec"
    output = tmp_path / "seq2seq"
    arguments = ["--train_file", str(cadec / "train.txt"), "--validation_file", str(cadec / "dev.txt")]
    arguments += ["--encoder", bert_dir, "--max_train_samples", "32", "--max_eval_samples", "40"]
    arguments += ["--num_train_epochs", "1", "--num_beams", "1", "2", "--score_each_epoch"]
    arguments += ["--output_dir", str(output)]
    results = train_seq2seq.main(arguments)
    assert results["unrepresentable"] == {} and results["validation_examples"] == 40
    # the epoch's point of the dev curve: the same model, greedy, as the final greedy evaluation
    greedy = headline(results["evaluations"]["beams_1"]["scores"])
    assert results["dev_curve"] == [{"epoch": 1.0, **greedy}]
    assert set(results["evaluations"]) == {"beams_1", "beams_2"}
    assert set(results["evaluations"]["beams_1"]["scores"]) == {"all", "discontinuous"}
    assert results["evaluations"]["beams_1"]["scores"]["all"]["gold"] == sum(
        len(example["entities"]) for example in multiner.readers.read_discontinuous(cadec / "dev.txt")[:40]
    )
    assert json.loads((output / "results.json").read_text())["evaluations"] == results["evaluations"]
    from transformers import pipeline

    text = "I had aching in my legs and shoulders after taking Arthrotec ."
    reloaded = pipeline("seq2seq-ner", model=str(output))
    assert reloaded.model.config.entity_types == ["ADR"]
    assert reloaded(text) == reloaded([text])[0]
    card = (output / "README.md").read_text()
    assert "trained on cadec" in card and "| dev | discontinuous |" in card


def test_a_training_resumed_from_a_checkpoint_ends_as_the_uninterrupted_one(bert_dir, tmp_path):
    """--save_strategy epoch, then --resume_from_checkpoint (a checkpoint folder, or `last`): the resumed training
    ends with the uninterrupted one's weights and its whole dev curve, the first epoch's point read back from the
    checkpoint, and records the share of the schedule it trained. A folder that is no checkpoint, or `last` where
    there is none, is refused before any training."""
    from conftest import RELATIONS

    sys.path.insert(0, str(ROOT / "examples"))
    import train_joint_er

    data = tmp_path / "relations.jsonl"
    data.write_text("".join(json.dumps(example) + "\n" for example in RELATIONS * 3))
    arguments = ["--train_file", str(data), "--validation_file", str(data), "--data_format", "jsonl"]
    arguments += ["--encoder", bert_dir, "--num_train_epochs", "2", "--per_device_train_batch_size", "4"]
    arguments += ["--score_each_epoch", "--save_strategy", "epoch"]
    whole = train_joint_er.main(arguments + ["--output_dir", str(tmp_path / "whole")])
    assert sorted(path.name for path in (tmp_path / "whole").glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    assert "resumed" not in whole
    # the first epoch's checkpoint, its dev point marked: a resumed training reads it, one from scratch recomputes it
    checkpoint = tmp_path / "interrupted" / "checkpoint-3"
    shutil.copytree(tmp_path / "whole" / "checkpoint-3", checkpoint)
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    [entry] = [entry for entry in state["log_history"] if "dev_curve" in entry]
    assert entry["dev_curve"] == whole["dev_curve"][0]
    entry["dev_curve"]["read_back"] = True
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))
    resumed = train_joint_er.main(
        arguments + ["--output_dir", str(tmp_path / "interrupted"), "--resume_from_checkpoint", "last"]
    )
    assert resumed["resumed"] == {"from": str(checkpoint), "trained_share": 0.5}
    assert resumed["dev_curve"] == [{**whole["dev_curve"][0], "read_back": True}, whole["dev_curve"][1]]
    assert resumed["scores"] == whole["scores"]
    weights = [AutoModel.from_pretrained(tmp_path / name).state_dict() for name in ("whole", "interrupted")]
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])
    # a checkpoint whose saving was cut short (no trainer_state.json, which the Trainer writes last) is passed over
    (tmp_path / "interrupted" / "checkpoint-9").mkdir()
    with pytest.warns(UserWarning, match="checkpoint-9 has no trainer_state.json"):
        last = train_joint_er.parse_args(
            arguments + ["--output_dir", str(tmp_path / "interrupted")] + ["--resume_from_checkpoint", "last"]
        )
    assert last[2].resume_from_checkpoint == str(tmp_path / "interrupted" / "checkpoint-6")
    with pytest.raises(ValueError, match="no complete checkpoint-N folder in --output_dir"):
        train_joint_er.parse_args(
            arguments + ["--output_dir", str(tmp_path / "new"), "--resume_from_checkpoint", "last"]
        )
    with pytest.raises(ValueError, match="not a checkpoint the Trainer wrote"):
        train_joint_er.parse_args(
            arguments + ["--output_dir", str(tmp_path), "--resume_from_checkpoint", str(tmp_path)]
        )
