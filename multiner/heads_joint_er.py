"""The joint ER family's entity heads: BIO tags with a linear-chain CRF (Viterbi at inference), a score per (span,
type) that keeps nested entities, or Multi-NER's start, end and span heads; and the tensor helpers they decode with."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from operator import itemgetter

import torch
import torch.nn.functional as F
from torch import nn

from .configuration_joint_er import JointErConfig
from .decoding import decode_spans, keep_non_overlapping
from .modeling_core import (
    MASKED_LOGIT,
    SpanHeads,
    masked_bce,
    shifted_windows,
    span_candidates,
    span_targets,
    weighted_bce,
)

# Score of a forbidden CRF transition: exp() of it is 0 in float32 sums, and it stays finite (no NaN gradients).
FORBIDDEN = -1.0e4
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "linear": nn.Identity}
# Weights of the start, end and span parts of the `start_end_span` head's loss: Multi-NER's defaults
# (`MultiNerConfig.start_loss_weight`, `end_loss_weight`, `span_loss_weight`).
START_END_SPAN_LOSS_WEIGHTS = (1.0, 1.0, 0.1)
# Prior probability the span head's output bias starts at: few spans are entities, and an untrained model that
# called half of them entities would hand the relation scorer thousands of pairs.
SPAN_PRIOR = 0.01


# ------------------------------------------------------------------------------------------------------------ CRF


def bio_transitions(num_types: int, device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed BIO transitions over tags `O, B-t0, I-t0, B-t1, ...`: `[tags, tags]` (I-t only after B-t or I-t) and
    allowed first tags `[tags]` (no I-t)."""
    tags = 1 + 2 * num_types
    tag = torch.arange(tags, device=device)
    is_inside = (tag > 0) & (tag % 2 == 0)
    type_of = (tag - 1) // 2
    allowed = ~is_inside[None, :] | ((tag[:, None] > 0) & (type_of[:, None] == type_of[None, :]))
    return allowed, ~is_inside


class LinearChainCrf(nn.Module):
    """A batched linear-chain CRF over `num_tags` tags: log-likelihood (forward algorithm), Viterbi decoding and tag
    marginals (forward-backward). Sequences are left-aligned: `mask[b]` is ones then zeros, at least one one.

    Args:
        num_tags: number of tags.
        constraints: optional function of a device giving a `[tags, tags]` bool matrix of allowed transitions and a
            `[tags]` one of allowed first tags (such as `bio_transitions`); forbidden moves score `FORBIDDEN` in
            training and decoding alike. (Computed when needed, not stored: a model loaded from a checkpoint is
            built on the meta device, where unsaved buffers would be left empty.)

    Example:
        >>> crf = LinearChainCrf(3)
        >>> emissions = torch.randn(2, 4, 3); mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]).bool()
        >>> crf.viterbi(emissions, mask).shape
        torch.Size([2, 4])
    """

    def __init__(self, num_tags: int, constraints: Callable | None = None):
        super().__init__()
        self.num_tags = num_tags
        self.constraints = constraints
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start_transitions = nn.Parameter(torch.zeros(num_tags))
        self.end_transitions = nn.Parameter(torch.zeros(num_tags))

    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transition `[tags, tags]`, start `[tags]` and end `[tags]` scores with forbidden moves at FORBIDDEN."""
        if self.constraints is None:
            return self.transitions, self.start_transitions, self.end_transitions
        allowed, allowed_start = self.constraints(self.transitions.device)
        transitions = self.transitions.masked_fill(~allowed, FORBIDDEN)
        start = self.start_transitions.masked_fill(~allowed_start, FORBIDDEN)
        return transitions, start, self.end_transitions

    def log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log p(tags | emissions) per sequence `[batch]`; emissions `[batch, length, tags]`, tags and mask
        `[batch, length]`."""
        emissions = emissions.float()
        return self._path_score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z per sequence `[batch]` (the forward algorithm)."""
        return torch.logsumexp(self._forward_scores(emissions.float(), mask)[-1] + self.scores()[2], dim=-1)

    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """p(tag at position t = k | emissions), `[batch, length, tags]` (0 on padding)."""
        emissions = emissions.float()
        transitions, _, end = self.scores()
        alphas = self._forward_scores(emissions, mask, frozen=False)  # per position, before freezing on padding
        lengths = mask.sum(dim=1)
        log_z = torch.logsumexp(self._forward_scores(emissions, mask)[-1] + end, dim=-1)
        beta = end.expand(emissions.shape[0], -1)
        betas = [beta]
        for position in range(emissions.shape[1] - 2, -1, -1):
            following = torch.logsumexp(transitions + (emissions[:, position + 1] + beta)[:, None, :], dim=-1)
            is_last = (lengths - 1 == position)[:, None]
            beta = torch.where(is_last, end.expand_as(following), following)
            betas.append(beta)
        betas = torch.stack(betas[::-1], dim=1)
        log_marginals = torch.stack(alphas, dim=1) + betas - log_z[:, None, None]
        return log_marginals.exp() * mask[:, :, None]

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The best tag sequence per row, `[batch, length]`, 0 on padding."""
        emissions = emissions.float()
        transitions, start, end = self.scores()
        score = start + emissions[:, 0]
        identity = torch.arange(self.num_tags, device=emissions.device).expand_as(score)
        backpointers = []
        for position in range(1, emissions.shape[1]):
            best, pointer = (score[:, :, None] + transitions).max(dim=1)
            step = mask[:, position, None]
            score = torch.where(step, best + emissions[:, position], score)
            # on padding the tag carries over, so backtracking from the end passes through unchanged
            backpointers.append(torch.where(step, pointer, identity))
        tag = (score + end).argmax(dim=-1)
        path = [tag]
        for pointer in reversed(backpointers):
            tag = pointer.gather(1, tag[:, None]).squeeze(1)
            path.append(tag)
        return torch.stack(path[::-1], dim=1) * mask

    def _forward_scores(self, emissions: torch.Tensor, mask: torch.Tensor, frozen: bool = True) -> list[torch.Tensor]:
        transitions, start, _ = self.scores()
        alpha = start + emissions[:, 0]
        alphas = [alpha]
        for position in range(1, emissions.shape[1]):
            following = torch.logsumexp(alpha[:, :, None] + transitions, dim=1) + emissions[:, position]
            alpha = torch.where(mask[:, position, None], following, alpha) if frozen else following
            alphas.append(alpha)
        return alphas

    def _path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        transitions, start, end = self.scores()
        mask = mask.float()
        emitted = emissions.gather(2, tags[:, :, None]).squeeze(2)  # [batch, length]
        score = start[tags[:, 0]] + (emitted * mask).sum(dim=1)
        score = score + (transitions[tags[:, :-1], tags[:, 1:]] * mask[:, 1:]).sum(dim=1)
        last = tags.gather(1, (mask.sum(dim=1).long() - 1)[:, None]).squeeze(1)
        return score + end[last]


# ----------------------------------------------------------------------------------------------------- BiRNN stack


class BioCrfHead(nn.Module):
    """Two feed-forward layers to BIO tag scores, then a linear-chain CRF (Viterbi at inference)."""

    def __init__(self, config: JointErConfig, input_size: int):
        super().__init__()
        num_types = len(config.entity_types)
        self.hidden = nn.Linear(input_size, config.ner_hidden_size)
        self.activation = ACTIVATIONS[config.ner_activation]()
        self.output = nn.Linear(config.ner_hidden_size, 1 + 2 * num_types)
        constraints = partial(bio_transitions, num_types) if config.bio_constraints else None
        self.crf = LinearChainCrf(1 + 2 * num_types, constraints)

    def forward(self, words: torch.Tensor, word_mask: torch.Tensor | None = None, gold=None, threshold=None):
        """`[batch, words, input]` -> emissions `[batch, words, tags]` (the other arguments: unused)."""
        return self.output(self.activation(self.hidden(words)))

    def loss(
        self, emissions: torch.Tensor, gold: torch.Tensor, word_mask: torch.Tensor, positive_weight: float = 1.0
    ) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tag sequences (`positive_weight` does not apply to a CRF)."""
        tags = spans_to_tags(gold, word_mask.shape[1])
        return -self.crf.log_likelihood(emissions, tags, word_mask).mean()

    def predict(
        self, emissions: torch.Tensor, word_mask: torch.Tensor, threshold: float, overlapping: bool = False
    ) -> tuple:
        """The Viterbi tags' entities (never overlapping; `threshold` and `overlapping` are the span head's)."""
        tags = self.crf.viterbi(emissions, word_mask)
        chosen = self.crf.marginals(emissions, word_mask).gather(2, tags[:, :, None]).squeeze(2)
        return tags_to_spans(tags, chosen, word_mask)


class SpanHead(nn.Module):
    """A score per (span, type) for spans of up to `max_span_length` words: a feed-forward layer over the first and
    last word's states and a width embedding, then one logit per type (sigmoid), so entities may overlap and nest."""

    def __init__(self, config: JointErConfig, input_size: int):
        super().__init__()
        self.max_span_length = config.max_span_length
        self.first = nn.Linear(input_size, config.ner_hidden_size)
        self.last = nn.Linear(input_size, config.ner_hidden_size, bias=False)
        self.width = nn.Embedding(config.max_span_length, config.ner_hidden_size)
        self.activation = ACTIVATIONS[config.ner_activation]()
        self.output = nn.Linear(config.ner_hidden_size, len(config.entity_types))
        self.output.init_bias = math.log(SPAN_PRIOR / (1.0 - SPAN_PRIOR))

    def forward(self, words: torch.Tensor, word_mask: torch.Tensor | None = None, gold=None, threshold=None):
        """`[batch, words, input]` -> span logits `[batch, words, max_span_length, types]` (the other
        arguments: unused)."""
        last = shifted_windows(self.last(words), self.max_span_length)  # [batch, words, span, hidden]
        hidden = self.first(words)[:, :, None] + last + self.width.weight
        return self.output(self.activation(hidden))

    def loss(
        self, logits: torch.Tensor, gold: torch.Tensor, word_mask: torch.Tensor, positive_weight: float = 1.0
    ) -> torch.Tensor:
        """Mean binary cross-entropy over every valid (span, type), gold ones weighing `positive_weight`."""
        targets = torch.zeros_like(logits)
        rows, entities = (gold[:, :, 0] >= 0).nonzero(as_tuple=True)
        first, last, types = gold[rows, entities].unbind(-1)
        inside = last - first < self.max_span_length
        targets[rows[inside], first[inside], (last - first)[inside], types[inside]] = 1.0
        losses = weighted_bce(logits, targets, positive_weight)
        valid = spans_in_words(word_mask, self.max_span_length)[..., None].float()
        return (losses * valid).sum() / (valid.sum() * logits.shape[-1]).clamp(min=1.0)

    def predict(
        self, logits: torch.Tensor, word_mask: torch.Tensor, threshold: float, overlapping: bool = True
    ) -> tuple:
        """Every (span, type) above `threshold`, or with `overlapping=False` the greedy non-overlapping ones."""
        probabilities = torch.sigmoid(logits.float()) * spans_in_words(word_mask, self.max_span_length)[..., None]
        return chosen_spans(probabilities > threshold, probabilities, overlapping)


class StartEndSpanHead(nn.Module):
    """Multi-NER's entity machinery over the NER word states (`modeling_core.SpanHeads`, one head set per entity type,
    interior span features, with `config.shared_boundary_head` a start / end pair every type adds to its own): a
    start, an end and a span-match score per (span of up to `max_span_length` words, type). Trained as Multi-NER
    trains: binary cross-entropies over every word's start and end, and over the candidate spans' match (both ends
    predicted, or both gold), positives weighing `positive_weight`. A (span, type) is an entity when all three
    probabilities exceed the threshold; its score is their geometric mean.

    Its logits `[batch, words, 2 + max_span_length, types]` hold the start logits at `[:, :, 0]`, the end logits at
    `[:, :, 1]` and the span logits of span `i..i+k` at `[:, i, 2 + k]`.
    """

    def __init__(self, config: JointErConfig, input_size: int):
        super().__init__()
        self.max_span_length = config.max_span_length
        self.heads = SpanHeads(
            len(config.entity_types),
            input_size,
            config.ner_hidden_size,
            config.max_span_length,
            interior=True,
            dropout=config.rnn_dropout,
            shared_boundary=config.shared_boundary_head,
        )

    def forward(
        self,
        words: torch.Tensor,
        word_mask: torch.Tensor | None = None,
        gold: torch.Tensor | None = None,
        threshold: float | None = None,
    ) -> torch.Tensor:
        """`[batch, words, input]` -> `[batch, words, 2 + max_span_length, types]` (start, end, span logits).

        The span MLP over every (span, type) is the head's largest tensor; scored densely it made training a fifth
        slower and prediction a tenth (BENCHMARKS.md). So, as Multi-NER does, only the spans that can matter are
        scored, the others holding `MASKED_LOGIT`: with `gold` (training) those the loss reads (both ends predicted
        or both gold); with a `threshold` > 0 (prediction) those whose two ends exceed it, which are the only ones
        `predict` at that threshold can choose. With neither, every span."""
        types = self.heads.span_output_bias.shape[0]
        hidden = words[:, None].expand(-1, types, -1, -1)  # every type reads the same word states
        start, end = self.heads.boundaries(hidden)  # [batch, words, types] each; type t reads head set t
        candidates = None
        if gold is not None:
            inside = spans_in_words(word_mask, self.max_span_length)
            candidates = span_candidates(start > 0, end > 0, inside, self._targets(gold, start))
        elif threshold:
            floor = math.log(threshold / (1.0 - threshold))
            candidates = span_candidates(start > floor, end > floor, spans_in_words(word_mask, self.max_span_length))
        spans = self.heads.spans(hidden, candidates=candidates)
        return torch.cat([start[:, :, None], end[:, :, None], spans], dim=2)

    def loss(
        self, logits: torch.Tensor, gold: torch.Tensor, word_mask: torch.Tensor, positive_weight: float = 1.0
    ) -> torch.Tensor:
        """Multi-NER's loss: start, end and candidate-span binary cross-entropies, weighted
        `START_END_SPAN_LOSS_WEIGHTS`."""
        start, end, span = logits[:, :, 0], logits[:, :, 1], logits[:, :, 2:]
        targets = self._targets(gold, start)
        start_gold, end_gold, span_gold = targets
        words = word_mask[:, :, None].expand_as(start)
        candidates = span_candidates(start > 0, end > 0, spans_in_words(word_mask, self.max_span_length), targets)
        start_weight, end_weight, span_weight = START_END_SPAN_LOSS_WEIGHTS
        return (
            start_weight * masked_bce(start, start_gold, words, positive_weight)
            + end_weight * masked_bce(end, end_gold, words, positive_weight)
            + span_weight * masked_bce(span, span_gold, candidates, positive_weight)
        )

    def _targets(self, gold: torch.Tensor, start: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gold entities `[batch, entities, 3]` (-1 padding) -> `modeling_core.span_targets`."""
        rows, entities = (gold[:, :, 0] >= 0).nonzero(as_tuple=True)
        first, last, types = gold[rows, entities].unbind(-1)
        return span_targets(rows, first, last, types, start.shape, self.max_span_length)

    def predict(
        self, logits: torch.Tensor, word_mask: torch.Tensor, threshold: float, overlapping: bool = True
    ) -> tuple:
        """Multi-NER's decision, by its own decoder (`decoding.decode_spans`): every (span, type) whose start, end and
        span probabilities all exceed `threshold`, scored by their geometric mean; with `overlapping=False` the
        greedy non-overlapping ones."""
        # padding words start and end nothing
        logits = logits.float().masked_fill(~word_mask[:, :, None, None], MASKED_LOGIT)
        start, end, span = (part.cpu().numpy() for part in (logits[:, :, 0], logits[:, :, 1], logits[:, :, 2:]))
        found = [
            (row, first, last, kind, score)
            for row, entities in enumerate(decode_spans(start, end, span, threshold))
            for kind, first, last, score in entities
        ]
        # (row, first, last, type) per entity
        index = torch.tensor([entity[:4] for entity in found], dtype=torch.long, device=logits.device).view(-1, 4)
        scores = torch.tensor([entity[4] for entity in found], dtype=torch.float, device=logits.device)
        return entity_rows(index[:, 0], index[:, 1:], scores, logits.shape[0], overlapping)


NER_HEADS = {"bio_crf": BioCrfHead, "span": SpanHead, "start_end_span": StartEndSpanHead}


def spans_in_words(word_mask: torch.Tensor, max_span_length: int) -> torch.Tensor:
    """`[batch, words, max_span_length]`: the spans of up to `max_span_length` words whose last word is a real word
    of `word_mask` `[batch, words]` (left-aligned, so the others are too)."""
    return shifted_windows(word_mask.long(), max_span_length).bool()


def chosen_spans(chosen: torch.Tensor, scores: torch.Tensor, overlapping: bool) -> tuple:
    """The (span, type)s `chosen` `[batch, words, max_span_length, types]` with their `scores` as `entity_rows`."""
    rows, first, width, types = chosen.nonzero(as_tuple=True)
    spans = torch.stack([first, first + width, types], dim=-1)
    return entity_rows(rows, spans, scores[rows, first, width, types], chosen.shape[0], overlapping)


def entity_rows(rows: torch.Tensor, spans: torch.Tensor, scores: torch.Tensor, batch: int, overlapping: bool) -> tuple:
    """Entities `spans` `[n, 3]` (first, last, type) with `scores` `[n]` of rows `rows` (sorted) as padded `[batch,
    entities, 3]` (-1 padding) and `[batch, entities]`; with `overlapping=False` only the greedy non-overlapping ones
    (`greedy_non_overlapping`)."""
    spans, scores = pad_rows(rows, spans, scores, batch)
    if overlapping:
        return spans, scores
    kept = greedy_non_overlapping(spans, scores)
    rows, position = kept.nonzero(as_tuple=True)
    return pad_rows(rows, spans[rows, position], scores[rows, position], batch)


def spans_to_tags(spans: torch.Tensor, length: int) -> torch.Tensor:
    """BIO tags `[batch, length]` (O = 0, B-t = 1 + 2t, I-t = 2 + 2t) of non-overlapping spans `[batch, entities,
    3]` (first, last, type; -1 padding)."""
    position = torch.arange(length, device=spans.device)
    first, last, types = spans[..., 0:1], spans[..., 1:2], spans[..., 2:3]
    inside = (position >= first) & (position <= last) & (first >= 0)  # [batch, entities, length]
    tag = torch.where(position == first, 1 + 2 * types, 2 + 2 * types)
    return (tag * inside).amax(dim=1) if spans.shape[1] else spans.new_zeros(spans.shape[0], length)


def tags_to_spans(tags: torch.Tensor, scores: torch.Tensor, word_mask: torch.Tensor) -> tuple:
    """Entities of BIO tags `[batch, words]`: padded `[batch, entities, 3]` (first, last, type; -1 padding) and their
    scores `[batch, entities]`, the geometric mean of the tags' probabilities `scores` `[batch, words]`.

    An I-t that does not continue a B-t or I-t starts an entity (only an unconstrained CRF produces one).
    """
    tags = tags * word_mask
    types = (tags - 1).div(2, rounding_mode="floor")
    previous_tags = F.pad(tags, (1, 0))[:, :-1]
    previous_types = F.pad(types, (1, 0), value=-1)[:, :-1]
    continues = (tags > 0) & (tags % 2 == 0) & (previous_tags > 0) & (previous_types == types)
    next_continues = F.pad(continues, (0, 1))[:, 1:]
    rows, firsts = ((tags > 0) & ~continues).nonzero(as_tuple=True)
    _, lasts = ((tags > 0) & ~next_continues).nonzero(as_tuple=True)  # row-major: the k-th end closes the k-th start
    log_scores = F.pad(scores.clamp(min=1e-12).log().cumsum(dim=1), (1, 0))
    mean_log = (log_scores[rows, lasts + 1] - log_scores[rows, firsts]) / (lasts - firsts + 1)
    spans = torch.stack([firsts, lasts, types[rows, firsts]], dim=-1)
    return pad_rows(rows, spans, mean_log.exp(), tags.shape[0])


def greedy_non_overlapping(spans: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Which entities `[batch, entities, 3]` (first, last, type; -1 padding) to keep so that none overlap, by the
    package's one rule (`decoding.keep_non_overlapping`: the most probable first, ties to the earlier entity, then
    each next one that overlaps none kept). Returns `[batch, entities]` bool.

    Example:
        >>> spans = torch.tensor([[[0, 2, 0], [1, 1, 1], [2, 3, 0], [5, 5, 0]]])
        >>> greedy_non_overlapping(spans, torch.tensor([[0.9, 0.95, 0.8, 0.6]])).tolist()
        [[False, True, True, True]]
    """
    kept = torch.zeros(spans.shape[:2], dtype=torch.bool, device=spans.device)
    for row, (row_spans, row_scores) in enumerate(zip(spans.tolist(), scores.tolist())):
        # (first, end exclusive, score, position) of the row's entities, in order of position (ties to the earlier)
        items = [(span[0], span[1] + 1, score, n) for n, (span, score) in enumerate(zip(row_spans, row_scores))]
        chosen = keep_non_overlapping([item for item in items if item[0] >= 0], itemgetter(0, 1), itemgetter(2))
        kept[row, [item[3] for item in chosen]] = True
    return kept


def pad_rows(rows: torch.Tensor, spans: torch.Tensor, scores: torch.Tensor, batch: int) -> tuple:
    """Items `spans` `[n, 3]` with `scores` `[n]` of rows `rows` (sorted) -> `[batch, most, 3]` padded with -1 and
    `[batch, most]` padded with 0."""
    counts = torch.bincount(rows, minlength=batch)
    most = max(int(counts.max().item()) if rows.numel() else 0, 1)
    position = torch.arange(rows.shape[0], device=rows.device) - (counts.cumsum(0) - counts)[rows]
    padded = spans.new_full((batch, most, 3), -1)
    padded[rows, position] = spans
    padded_scores = scores.new_zeros(batch, most)
    padded_scores[rows, position] = scores
    return padded, padded_scores


__all__ = [
    "ACTIVATIONS",
    "NER_HEADS",
    "BioCrfHead",
    "LinearChainCrf",
    "SpanHead",
    "StartEndSpanHead",
    "bio_transitions",
    "chosen_spans",
    "entity_rows",
    "spans_in_words",
    "greedy_non_overlapping",
    "pad_rows",
    "spans_to_tags",
    "tags_to_spans",
]
