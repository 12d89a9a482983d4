"""The joint entity-relation network: the CRF against brute-force enumeration, the relation scorer's shapes and
masks, word pooling, tag <-> span conversion, the paper's ablations as configs, a frozen encoder."""

import itertools
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from conftest import JOINT_ENTITY_TYPES, RELATION_TYPES, joint_model
from transformers import AutoConfig

import multiner
from multiner import ABLATIONS, JointErConfig, JointErModel
from multiner.heads_joint_er import (
    LinearChainCrf,
    bio_transitions,
    greedy_non_overlapping,
    spans_to_tags,
    tags_to_spans,
)
from multiner.modeling_core import MASKED_LOGIT, both_ends
from multiner.modeling_joint_er import JointErPreTrainedModel, RelationScorer, pair_features, pool_words


def brute_force(crf, emissions, length):
    """Score of every tag path of the first `length` positions of one sequence."""
    transitions, start, end = crf.scores()
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        score = start[path[0]] + emissions[0, path[0]]
        for t in range(1, length):
            score = score + transitions[path[t - 1], path[t]] + emissions[t, path[t]]
        scores[path] = score + end[path[-1]]
    return scores


@pytest.mark.parametrize("constrained", [False, True])
def test_crf_matches_brute_force_enumeration(constrained):
    torch.manual_seed(0)
    crf = LinearChainCrf(5, (lambda device: bio_transitions(2, device)) if constrained else None)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    emissions = torch.randn(3, 4, 5)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]]).bool()
    with torch.no_grad():
        log_z, best = crf.log_partition(emissions, mask), crf.viterbi(emissions, mask)
        marginals = crf.marginals(emissions, mask)
    for row in range(3):
        length = int(mask[row].sum())
        scores = brute_force(crf, emissions[row], length)
        values = torch.stack(list(scores.values()))
        expected_z = torch.logsumexp(values, 0)
        assert torch.allclose(log_z[row], expected_z, atol=1e-4)
        best_path = max(scores, key=lambda path: scores[path])
        assert best[row, :length].tolist() == list(best_path) and best[row, length:].eq(0).all()
        tags = torch.zeros(3, 4, dtype=torch.long)
        tags[row, :length] = torch.tensor(best_path)
        with torch.no_grad():
            likelihood = crf.log_likelihood(emissions, tags, mask)[row]
        assert torch.allclose(likelihood, scores[best_path] - expected_z, atol=1e-4)
        expected_marginals = torch.zeros(length, 5)
        for path, score in scores.items():
            for position, tag in enumerate(path):
                expected_marginals[position, tag] += torch.exp(score - expected_z)
        assert torch.allclose(marginals[row, :length], expected_marginals, atol=1e-4)
        assert marginals[row, length:].eq(0).all()
        if constrained:  # no I-X after O or another type, no I-X first
            allowed, allowed_start = bio_transitions(2)
            assert allowed_start[best[row, 0]] and all(allowed[a, b] for a, b in zip(best_path, best_path[1:]))


def test_bio_transitions_allow_inside_only_after_its_own_type():
    allowed, allowed_start = bio_transitions(2)  # O, B-0, I-0, B-1, I-1
    assert allowed_start.tolist() == [True, True, False, True, False]
    assert allowed[:, 2].tolist() == [False, True, True, False, False]
    assert allowed[:, 4].tolist() == [False, False, False, True, True]
    assert allowed[:, [0, 1, 3]].all()


def test_tags_and_spans_round_trip():
    spans = torch.tensor([[[0, 1, 1], [3, 3, 0], [-1, -1, -1]], [[2, 4, 0], [-1, -1, -1], [-1, -1, -1]]])
    tags = spans_to_tags(spans, 6)
    assert tags.tolist() == [[3, 4, 0, 1, 0, 0], [0, 0, 1, 2, 2, 0]]
    word_mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]).bool()
    found, scores = tags_to_spans(tags, torch.full((2, 6), 0.5), word_mask)
    assert found[:, :2].tolist() == spans[:, :2].tolist()
    assert torch.allclose(scores, torch.tensor([[0.5, 0.5], [0.5, 0.0]]))
    # a stray I (an unconstrained CRF) starts an entity; I of another type does not continue one
    found, _ = tags_to_spans(torch.tensor([[2, 2, 4, 0]]), torch.ones(1, 4), torch.ones(1, 4).bool())
    assert found.tolist() == [[[0, 1, 0], [2, 2, 1]]]


def test_pool_words_first_and_mean():
    states = torch.arange(12.0).view(1, 6, 2)
    word_ids = torch.tensor([[-1, 0, 0, 1, -1, -1]])
    first, mask = pool_words(states, word_ids, "first")
    mean, _ = pool_words(states, word_ids, "mean")
    assert first.tolist() == [[[2.0, 3.0], [6.0, 7.0]]] and mask.tolist() == [[True, True]]
    assert mean.tolist() == [[[3.0, 4.0], [6.0, 7.0]]]


def scorer_config(**fields):
    """The paper's scorer (DistMult and cosine distance, no pair context) unless `fields` say otherwise."""
    encoder = AutoConfig.from_pretrained(multiner.default_encoder_path()).to_dict()
    fields = {"relation_context": False, **fields}
    return JointErConfig(
        encoder_config=encoder, entity_types=JOINT_ENTITY_TYPES, relation_types=RELATION_TYPES, **fields
    )


def test_relation_scorer_shapes_masks_and_direction():
    torch.manual_seed(0)
    scorer = RelationScorer(scorer_config(re_dropout=0.0), input_size=16).eval()
    words = torch.randn(2, 7, 16)
    spans = torch.tensor([[[0, 1, 2], [3, 3, 0], [5, 6, 1]], [[2, 2, 0], [-1, -1, -1], [-1, -1, -1]]])
    with torch.no_grad():
        logits = scorer(words, spans)
        assert logits.shape == (2, 3, 3, len(RELATION_TYPES))
        # a padding entity changes nothing for the real ones
        assert torch.allclose(scorer(words, spans[:, :2])[0], logits[0, :2, :2])
        # an entity is read at its last word: other words do not matter
        changed = words.clone()
        changed[0, 0] += 1.0
        assert torch.allclose(scorer(changed, spans)[0], logits[0])
    mask = RelationScorer.pair_mask(spans)
    assert mask[0].sum() == 6 and not mask[0].diagonal().any() and mask[1].sum() == 0
    assert not torch.allclose(logits[0, 0, 1], logits[0, 1, 0])  # head and tail mapped apart
    symmetric = RelationScorer(scorer_config(re_dropout=0.0, asymmetric_relations=False), 16).eval()
    with torch.no_grad():
        plain = symmetric(words, spans)
    assert torch.allclose(plain[0], plain[0].transpose(0, 1), atol=1e-6)  # the paper's DistMult cannot tell


@pytest.mark.parametrize("scale", [0.03, 1.0])
def test_symmetric_scorer_learns_a_symmetric_relation_from_states_of_any_scale(scale):
    """The paper's scorer at the training script's learning rate: BiRNN states are a few hundredths each, and raw
    DistMult over them once stayed at the base rate on CoNLL04 (that scorer reached about 60% accuracy here)."""
    torch.manual_seed(0)
    config = scorer_config(re_dropout=0.0, asymmetric_relations=False)
    scorer = RelationScorer(config, input_size=16)
    scorer.apply(JointErPreTrainedModel(config)._init_weights)
    words = scale * torch.randn(32, 6, 16)  # one entity per word, all of the first type
    spans = torch.stack([torch.arange(6), torch.arange(6), torch.zeros(6, dtype=torch.long)], dim=-1).expand(32, 6, 3)
    side = words[:, :, 0] > 0  # related: both on the same side of the first coordinate (symmetric)
    targets = (side[:, :, None] == side[:, None, :]).float()[..., None].expand(-1, -1, -1, len(RELATION_TYPES))
    mask = RelationScorer.pair_mask(spans)
    optimizer = torch.optim.Adam(scorer.parameters(), lr=1e-3)
    for _ in range(300):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(scorer(words, spans)[mask], targets[mask]).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = ((scorer(words, spans)[mask] > 0) == targets[mask].bool()).float().mean()
    assert accuracy > 0.85


@pytest.mark.parametrize("ablation", sorted(ABLATIONS))
def test_ablations_are_configs_with_the_same_number_of_birnn_layers(bert_dir, ablation):
    model = joint_model(bert_dir, **ABLATIONS[ablation])
    sizes = [len(stack.layers) for stack in (model.shared, model.ner_layers, model.re_layers)]
    expected = {"full": [1, 1, 2], "no_ner_layers": [2, 0, 2], "no_re_layers": [3, 1, 0], "no_task_layers": [4, 0, 0]}
    assert sizes == expected[ablation] and sum(sizes) == 4


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="rnn_type='transformer'"):
        scorer_config(rnn_type="transformer")
    with pytest.raises(ValueError, match="num_re_layers=-1"):
        scorer_config(num_re_layers=-1)
    with pytest.raises(ValueError, match="relation_types has duplicates"):
        JointErConfig(entity_types=["A"], relation_types=["R", "R"])
    with pytest.raises(ValueError, match="needs entity types and relation types"):
        JointErModel(JointErConfig(entity_types=["A"], relation_types=[]))


def test_frozen_encoder_gets_no_gradient_and_stays_in_eval_mode(bert_dir):
    model = joint_model(bert_dir, freeze_encoder=True).train()
    assert not model.encoder.training and model.shared.training
    batch = {
        "input_ids": torch.tensor([[101, 2000, 2001, 102]]),
        "attention_mask": torch.ones(1, 4, dtype=torch.long),
        "word_ids": torch.tensor([[-1, 0, 1, -1]]),
        "labels": torch.tensor([[[0, 0, 2], [1, 1, 0]]]),
        "relation_labels": torch.tensor([[[0, 1, 0]]]),
    }
    output = model(**batch)
    output.loss.backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.ner_head.output.weight.grad is not None and model.relation_scorer.distmult.grad.abs().sum() > 0
    assert torch.isclose(output.loss, output.ner_loss + 5.0 * output.relation_loss)


def three_words_two_entities() -> dict:
    """One window of three words: entities words 0..1 (type 2) and word 2 (type 0), relation 0 -> 1 of type 1."""
    return {
        "input_ids": torch.tensor([[101, 2000, 2001, 2002, 102]]),
        "attention_mask": torch.ones(1, 5, dtype=torch.long),
        "word_ids": torch.tensor([[-1, 0, 1, 2, -1]]),
        "labels": torch.tensor([[[0, 1, 2], [2, 2, 0]]]),
        "relation_labels": torch.tensor([[[0, 1, 1]]]),
    }


def weighted_by_hand(logit, gold, weight=3.0):
    """Binary cross-entropy with positives weighing `weight`, written out."""
    return -(weight * gold * torch.log(torch.sigmoid(logit)) + (1 - gold) * torch.log(1 - torch.sigmoid(logit)))


def test_positive_weight_weighs_gold_spans_and_relations(bert_dir):
    """Both binary losses against a hand-written weighted cross-entropy: gold targets weigh `positive_weight`."""
    torch.manual_seed(0)
    model = joint_model(bert_dir, ner_head="span", max_span_length=2, positive_weight=3.0).eval()
    batch = three_words_two_entities()
    with torch.no_grad():
        output = model(**batch)

    spans = output.ner_logits[0]  # [words 3, widths 2, types]
    gold_spans = torch.zeros_like(spans)
    gold_spans[0, 1, 2] = gold_spans[2, 0, 0] = 1.0
    valid = torch.tensor([[1, 1], [1, 1], [1, 0]]).bool()  # the span of words 2..3 runs past the end
    assert torch.isclose(output.ner_loss, weighted_by_hand(spans, gold_spans)[valid].mean(), atol=1e-6)
    relations = output.relation_logits[0]  # [2, 2, relation types]
    gold_relations = torch.zeros_like(relations)
    gold_relations[0, 1, 1] = 1.0
    off_diagonal = ~torch.eye(2, dtype=torch.bool)
    expected = weighted_by_hand(relations, gold_relations)[off_diagonal].mean()
    assert torch.isclose(output.relation_loss, expected, atol=1e-6)
    with pytest.raises(ValueError, match="positive_weight=0"):
        scorer_config(positive_weight=0)


def test_greedy_non_overlapping_matches_the_sequential_greedy():
    """The batched rule against picking spans one by one, most probable first, on random rows (ties included)."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        first = torch.randint(0, 8, (3, 6), generator=generator)
        spans = torch.stack([first, first + torch.randint(0, 3, (3, 6), generator=generator), first * 0], dim=-1)
        spans[0, 4:] = -1  # padding
        scores = torch.randint(1, 5, (3, 6), generator=generator).float() / 4
        kept = greedy_non_overlapping(spans, scores)
        for row in range(3):
            chosen = []
            for i in sorted(range(6), key=lambda i: (-scores[row, i].item(), i)):
                a, b = spans[row, i, :2].tolist()
                if a >= 0 and all(b < c or d < a for c, d in (spans[row, j, :2].tolist() for j in chosen)):
                    chosen.append(i)
            assert sorted(chosen) == kept[row].nonzero().flatten().tolist()


def test_span_head_resolves_overlaps_only_when_asked(bert_dir):
    torch.manual_seed(0)
    model = joint_model(bert_dir, ner_head="span").eval()
    batch = {
        "input_ids": torch.tensor([[101, 2000, 2001, 2002, 2003, 102]]),
        "attention_mask": torch.ones(1, 6, dtype=torch.long),
        "word_ids": torch.tensor([[-1, 0, 1, 2, 3, -1]]),
    }
    with torch.no_grad():
        everything = model(**batch, entity_threshold=0.0)  # every valid (span, type): overlapping by construction
        model.config.overlapping_entities = False
        flat = model(**batch, entity_threshold=0.0)
    assert (everything.entity_spans[0, :, 0] >= 0).sum() == 10 * len(JOINT_ENTITY_TYPES)
    spans = [tuple(span) for span in flat.entity_spans[0].tolist() if span[0] >= 0]
    assert spans and all(b1 < a2 or b2 < a1 for (a1, b1, _), (a2, b2, _) in itertools.combinations(spans, 2))
    best = everything.entity_scores[0].argmax()
    assert tuple(everything.entity_spans[0, best].tolist()) in spans  # the most probable span is always kept
    assert flat.relation_logits.shape[1:3] == (len(spans), len(spans))


def test_start_end_span_head_decides_as_multi_ner_decodes(bert_dir):
    """The joint model decides with Multi-NER's decoder: from its own start, end and span logits (padding words
    masked) it finds exactly the entities `decode_spans` finds (all three above the threshold, scored by their
    geometric mean), and with flat decoding keeps the greedy non-overlapping ones."""
    from multiner.decoding import decode_spans

    torch.manual_seed(0)
    model = joint_model(bert_dir, ner_head="start_end_span", max_span_length=3).eval()
    words = 6
    batch = {
        "input_ids": torch.tensor([[101, *range(2000, 2000 + words), 102], [101, 2000, 2001, 102, 0, 0, 0, 0]]),
        "attention_mask": torch.tensor([[1] * 8, [1] * 4 + [0] * 4]),
        "word_ids": torch.tensor([[-1, *range(words), -1], [-1, 0, 1, -1, -1, -1, -1, -1]]),
    }
    with torch.no_grad():
        for parameter in model.ner_head.parameters():
            parameter.normal_(std=0.5)
        output = model(**batch, entity_threshold=0.3)
    logits = output.ner_logits
    assert logits.shape == (2, words, 2 + 3, len(JOINT_ENTITY_TYPES))
    start, end, span = logits[:, :, 0], logits[:, :, 1], logits[:, :, 2:]
    # Multi-NER's decoder, with the second row's padding words masked as Multi-NER masks them
    padding = ~output.word_mask
    start, end = start.masked_fill(padding[..., None], -1e4), end.masked_fill(padding[..., None], -1e4)
    expected = decode_spans(start, end, span, threshold=0.3)
    found = [
        {(t, a, b): s for (a, b, t), s in zip(spans.tolist(), scores.tolist()) if a >= 0}
        for spans, scores in zip(output.entity_spans, output.entity_scores)
    ]
    assert sum(map(len, found)) > 5
    for row, entities in enumerate(expected):
        assert set(found[row]) == {entity[:3] for entity in entities}
        for t, a, b, score in entities:
            assert found[row][t, a, b] == pytest.approx(score, rel=1e-5)
    model.config.overlapping_entities = False
    with torch.no_grad():
        flat = model(**batch, entity_threshold=0.3)
    kept = greedy_non_overlapping(output.entity_spans, output.entity_scores)
    assert sorted(map(tuple, flat.entity_spans[0][flat.entity_spans[0, :, 0] >= 0].tolist())) == sorted(
        map(tuple, output.entity_spans[0][kept[0]].tolist())
    )


def test_start_end_span_head_loss_is_multi_ner_loss(bert_dir):
    """Start and end cross-entropies over every real word, and 0.1 x the span cross-entropy over the candidate spans
    (both ends predicted, or both gold), gold targets weighing the positive weight: Multi-NER's loss."""
    torch.manual_seed(0)
    model = joint_model(bert_dir, ner_head="start_end_span", max_span_length=2, positive_weight=3.0).eval()
    batch = three_words_two_entities()
    with torch.no_grad():
        for parameter in model.ner_head.parameters():
            parameter.normal_(std=0.5)
        output = model(**batch)

    logits = output.ner_logits[0]  # [words 3, 2 + widths 2, types]
    start, end, span = logits[:, 0], logits[:, 1], logits[:, 2:]
    start_gold, end_gold, span_gold = torch.zeros_like(start), torch.zeros_like(end), torch.zeros_like(span)
    start_gold[0, 2] = end_gold[1, 2] = span_gold[0, 1, 2] = 1.0  # words 0..1 of type 2
    start_gold[2, 0] = end_gold[2, 0] = span_gold[2, 0, 0] = 1.0  # word 2 of type 0
    candidates = torch.zeros_like(span, dtype=torch.bool)
    for first, width, kind in itertools.product(range(3), range(2), range(len(JOINT_ENTITY_TYPES))):
        last = first + width
        if last < 3:
            predicted = start[first, kind] > 0 and end[last, kind] > 0
            gold = start_gold[first, kind] > 0 and end_gold[last, kind] > 0
            candidates[first, width, kind] = bool(predicted or gold)
    expected = (
        weighted_by_hand(start, start_gold).mean()
        + weighted_by_hand(end, end_gold).mean()
        + 0.1 * weighted_by_hand(span, span_gold)[candidates].mean()
    )
    assert candidates.sum() > 2 and torch.isclose(output.ner_loss, expected, atol=1e-6)


def logit(probability: float) -> float:
    return math.log(probability / (1.0 - probability))


def test_start_end_span_head_scores_only_the_spans_its_loss_or_decision_reads(bert_dir):
    """Given gold entities the head scores the loss's candidate spans only (both ends predicted or both gold), given
    a threshold the spans whose two ends exceed it; those logits are the dense head's, the rest `MASKED_LOGIT`, and
    the loss and the chosen entities are the dense head's."""
    torch.manual_seed(0)
    head = joint_model(bert_dir, ner_head="start_end_span", max_span_length=3).eval().ner_head
    with torch.no_grad():
        for parameter in head.parameters():
            parameter.normal_(std=0.5)
    words = 0.1 * torch.randn(2, 6, head.heads.boundary_weight.shape[-1])  # logits of about unit scale
    word_mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    gold = torch.tensor([[[0, 1, 2], [3, 3, 0]], [[1, 1, 1], [-1, -1, -1]]])
    with torch.no_grad():
        dense = head(words)
        trained = head(words, word_mask, gold)
        predicted = head(words, word_mask, threshold=0.4)
    start, end = dense[:, :, 0], dense[:, :, 1]
    assert torch.equal(trained[:, :, :2], dense[:, :, :2]) and torch.equal(predicted[:, :, :2], dense[:, :, :2])
    lengths = (6, 4)
    inside = torch.tensor([[[i + k < lengths[row] for k in range(3)] for i in range(6)] for row in range(2)])
    gold_ends = torch.zeros_like(start, dtype=torch.bool), torch.zeros_like(end, dtype=torch.bool)
    for row, (first, last, kind) in ((0, (0, 1, 2)), (0, (3, 3, 0)), (1, (1, 1, 1))):
        gold_ends[0][row, first, kind] = gold_ends[1][row, last, kind] = True
    expected = {
        "trained": (both_ends(start > 0, end > 0, 3) | both_ends(*gold_ends, 3)) & inside[..., None],
        "predicted": both_ends(start > logit(0.4), end > logit(0.4), 3) & inside[..., None],
    }
    for name, logits in {"trained": trained, "predicted": predicted}.items():
        scored = logits[:, :, 2:] != MASKED_LOGIT
        assert torch.equal(scored, expected[name]) and 0 < scored.sum() < inside.sum() * 4, name
        assert torch.allclose(logits[:, :, 2:][scored], dense[:, :, 2:][scored], atol=1e-6), name
    assert torch.isclose(head.loss(trained, gold, word_mask), head.loss(dense, gold, word_mask), atol=1e-6)
    for overlapping in (True, False):
        chosen = head.predict(predicted, word_mask, 0.4, overlapping)
        reference = head.predict(dense, word_mask, 0.4, overlapping)
        assert chosen[0].shape[1] > 0 and torch.equal(chosen[0], reference[0])  # the same spans, in order
        assert torch.allclose(chosen[1], reference[1], atol=1e-6)


def test_pair_features_are_the_means_of_both_entities_and_of_the_words_between():
    """Against a loop over pairs: entity means, the between-words mean (zeros for adjacent, nested or overlapping
    entities, in either order), then both labels."""
    torch.manual_seed(0)
    words = torch.randn(2, 9, 4)
    padding = [-1, -1, -1]
    spans = torch.tensor([[[0, 1, 2], [4, 4, 0], [2, 6, 1], [7, 8, 0]], [[3, 5, 1], [6, 6, 0], padding, padding]])
    labels = torch.randn(2, 4, 3)
    features = pair_features(words, spans, labels)
    assert features.shape == (2, 4, 4, 3 * 4 + 2 * 3)
    for row in range(2):
        for i, j in itertools.product(range(4), repeat=2):
            (a, b, _), (c, d, _) = spans[row, i].tolist(), spans[row, j].tolist()
            if min(a, c) < 0:
                continue
            low, high = min(b, d) + 1, max(a, c) - 1  # the words strictly between, if any
            between = words[row, low : high + 1].mean(0) if low <= high else torch.zeros(4)
            expected = torch.cat([words[row, a : b + 1].mean(0), words[row, c : d + 1].mean(0), between])
            expected = torch.cat([expected, labels[row, i], labels[row, j]])
            torch.testing.assert_close(features[row, i, j], expected)
    assert features[0, 0, 1, 8:12].abs().sum() > 0 and features[0, 2, 1, 8:12].abs().sum() == 0  # 1 inside 2


def test_relation_context_starts_at_the_scorer_without_it_and_learns():
    torch.manual_seed(0)
    scorer = RelationScorer(scorer_config(re_dropout=0.0, relation_context=True), input_size=16).eval()
    JointErPreTrainedModel._init_weights(SimpleNamespace(config=scorer_config()), scorer.context[-1])
    words = torch.randn(2, 7, 16)
    spans = torch.tensor([[[0, 1, 2], [3, 3, 0], [5, 6, 1]], [[2, 2, 0], [4, 5, 1], [-1, -1, -1]]])
    with_context = scorer(words, spans)
    context, scorer.context = scorer.context, None
    assert torch.equal(with_context, scorer(words, spans))  # the context's output layer starts at zero
    scorer.context = context
    targets = torch.zeros_like(with_context)
    targets[0, 0, 2, 1] = 1.0
    F.binary_cross_entropy_with_logits(with_context, targets).backward()
    assert context[-1].weight.grad.abs().sum() > 0  # it learns from the first step


def test_shared_boundary_pair_starts_at_the_head_without_it_and_learns_from_every_type(bert_dir):
    """The start_end_span head's shared start / end pair (Multi-NER's): on by default for new models, off for configs
    saved before the field; zero at first (the same logits as without it), then moved by any type's gold entity, which
    moves every type's start logits."""
    torch.manual_seed(0)
    shared = joint_model(bert_dir, ner_head="start_end_span", max_span_length=2).eval()
    pair = shared.ner_head.heads.shared_boundary_weight
    assert shared.config.shared_boundary_head is True and not pair.any()
    saved = {key: value for key, value in shared.config.to_dict().items() if key != "shared_boundary_head"}
    assert JointErConfig.from_dict(saved).shared_boundary_head is False
    plain = JointErModel(JointErConfig.from_dict(saved)).eval()
    assert plain.ner_head.heads.shared_boundary_weight is None
    plain.load_state_dict({k: v for k, v in shared.state_dict().items() if "shared_boundary" not in k})
    batch = three_words_two_entities()
    with torch.no_grad():
        before = shared(**batch).ner_logits
        assert torch.equal(before, plain(**batch).ner_logits)
    shared(**batch).ner_loss.backward()
    assert pair.grad.abs().sum() > 0
    with torch.no_grad():
        pair -= pair.grad
        after = shared(**batch).ner_logits
    moved = (after[0, :, 0] - before[0, :, 0]).abs().amax(dim=0)  # start logits, per type
    assert (moved > 1e-4).all()
