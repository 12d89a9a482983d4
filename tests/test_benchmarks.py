"""The benchmark scripts' own logic that a number in BENCHMARKS.md depends on."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import discontinuous_errors as errors  # noqa: E402


def test_discontinuous_error_categories():
    """Each gold discontinuous mention, and each wrong predicted one, lands in the first category that holds."""
    gold = ((0, 4), (10, 15))  # "pain … knees"
    cases = {
        "exact": [gold],
        "boundaries off": [((0, 4), (10, 20))],
        "gap filled": [((0, 15),)],
        "one fragment": [((10, 15),)],
        "other fragments": [((0, 4), (30, 35))],
        "overlap": [((2, 8),)],
        "missed": [((40, 45),)],
    }
    assert list(cases) == list(errors.GOLD_CATEGORIES)
    for category, predicted in cases.items():
        assert errors.gold_category(gold, predicted) == category
    golds = [((0, 4), (10, 15)), ((20, 30),), ((40, 44),), ((50, 54),)]
    found = {
        None: ((0, 4), (10, 15)),
        "boundaries off": ((0, 5), (9, 15)),
        "contiguous gold split": ((20, 23), (26, 30)),
        "gold fragments merged": ((40, 44), (50, 54)),
        "wrong fragments": ((0, 4), (60, 65)),
        "overlap": ((21, 22), (70, 75)),
        "spurious": ((80, 85), (90, 95)),
    }
    assert list(found)[1:] == list(errors.PREDICTED_CATEGORIES)
    for category, predicted in found.items():
        assert errors.predicted_category(predicted, golds) == category


def test_discontinuous_agreement_counts_mentions_two_runs_both_wrote_exactly():
    def record(model, categories, num_beams=1):
        mentions = [
            {"sentence": i, "label": "ADR", "fragments": [[0, 4], [10, 15 + i]], "category": category}
            for i, category in enumerate(categories)
        ]
        return {"model": model, "num_beams": num_beams, "gold_mentions": mentions}

    rows = [
        record("a", ["exact", "exact", "missed", "exact"]),
        record("b", ["exact", "one fragment", "exact", "exact"]),
        record("a-beam", ["exact"] * 4, num_beams=4),  # beam rows are left out
        {"model": "old", "num_beams": 1},  # a record from before per-mention outcomes
    ]
    assert errors.exact_mentions(rows[0]) == {
        (0, "ADR", ((0, 4), (10, 15))),
        (1, "ADR", ((0, 4), (10, 16))),
        (3, "ADR", ((0, 4), (10, 18))),
    }
    table = errors.agreement(rows)
    assert table[-3:] == ["|---|---|---|", "| a | 3 | 2 |", "| b | 2 | 3 |"]
    assert errors.agreement(rows[:1]) == []


def test_joint_protocols_counts_entities_missed_by_a_split_off_mark():
    import joint_protocols

    texts = [{"text": "north of Boise.", "entities": [{"start": 9, "end": 15, "label": "Loc"}]}]

    def found(*entities):
        return [{"entities": [{"start": s, "end": e, "entity_group": label} for s, e, label in entities]}]

    assert joint_protocols.split_off_punctuation(texts, found((9, 14, "Loc"))) == 1
    assert joint_protocols.split_off_punctuation(texts, found((9, 15, "Loc"), (9, 14, "Loc"))) == 0  # found whole
    assert joint_protocols.split_off_punctuation(texts, found((9, 14, "Org"))) == 0  # another type: a type error
    assert joint_protocols.split_off_punctuation(texts, found((9, 13, "Loc"))) == 0


def test_seq2seq_ablation_names_each_run_by_what_its_command_switches_on():
    import seq2seq_ablation

    script = "python examples/train_seq2seq.py --train_file t --num_train_epochs 8"
    assert seq2seq_ablation.configuration(script) == ("Baseline", "", 42)
    assert seq2seq_ablation.configuration(f"{script} --target_mode all_words --seed 43") == (
        "Baseline",
        "all_words targets",
        43,
    )
    assert seq2seq_ablation.configuration(f"{script} --relation_prediction --seed 44") == ("RP", "", 44)
    assert seq2seq_ablation.configuration(f"{script} --relation_prediction --relation_loss_weight 0.1") == (
        "RP",
        "RP weight 0.1",
        42,
    )
    full = f"{script} --relation_prediction --token_relation_attention --entity_type_attention"
    assert seq2seq_ablation.configuration(full) == ("RP & TRA & ETA", "entity base", 42)
    assert seq2seq_ablation.configuration(f"{full} --type_names_only --gate_learning_rate 1e-2") == (
        "RP & TRA & ETA",
        "type names, gates at 1e-2",
        42,
    )
    assert seq2seq_ablation.configuration(f"{script} --relation_prediction --token_relation_attention") == (
        "RP & TRA",
        "",
        42,
    )
    assert seq2seq_ablation.spread([0.0, -0.25, 0.125]) == "-0.2500…+0.1250"
    assert seq2seq_ablation.spread([]) == "–"
    # the resume flags change neither the configuration nor the seed; a resumed run's minutes are an estimate
    resumed = f"{full} --seed 43 --save_strategy epoch --output_dir d --resume_from_checkpoint last"
    assert seq2seq_ablation.configuration(resumed) == ("RP & TRA & ETA", "entity base", 43)
    assert seq2seq_ablation.training_minutes({"train_seconds": 600.0}) == (10.0, False)
    assert seq2seq_ablation.training_minutes({"train_seconds": 600.0, "resumed": {"trained_share": 0.25}}) == (
        40.0,
        True,
    )
