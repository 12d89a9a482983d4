"""Joint entity and relation extraction with deeper task-specificity (Crone, 2020): an encoder, shared and
task-specific BiRNN layers, a NER head (BIO tags with a linear-chain CRF, or span scores) and DistMult relation
scoring between entities."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_joint_er import REMOTE_JOINT_ER_TASK, JointErConfig
from .encoders import build_encoder, load_encoder
from .heads_joint_er import (
    ACTIVATIONS,
    NER_HEADS,
    LinearChainCrf,
)
from .hub_folders import SavesPipelineCode
from .modeling_core import (
    LABEL_PAD,
    CharBiRnn,
    ChecksLoading,
    SpanHeads,
    bidirectional_rnn,
    check_input_signature,
    check_switch_input,
    weighted_bce,
)
from .word_features import CASING_CLASSES


@dataclass
class JointErOutput(ModelOutput):
    """Output of [`JointErModel`]. Words are indexed from the first word of each window.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): `ner_loss + relation_loss_weight · relation_loss`,
            when `labels` are given.
        ner_loss, relation_loss (`torch.FloatTensor` of shape `()`, *optional*): the two parts of the loss.
        ner_logits (`torch.FloatTensor`): the NER head's scores: `[batch, words, tags]` CRF emissions (`bio_crf`), or
            `[batch, words, max_span_length, entity types]` span logits (`span`; `[b, i, k, t]` is the span of words
            i..i+k), or `[batch, words, 2 + max_span_length, entity types]` start, end and span logits
            (`start_end_span`: `[b, i, 0, t]` starts, `[b, i, 1, t]` ends, `[b, i, 2 + k, t]` the span i..i+k;
            spans the head did not need are `MASKED_LOGIT`: with `labels` those outside its loss's candidates, else
            those whose ends do not clear the entity threshold).
        entity_spans (`torch.LongTensor` of shape `[batch, entities, 3]`): the entities relations were scored
            between, as (first word, last word, type), padded with -1: the gold ones when `labels` are given, else
            the predicted ones.
        entity_scores (`torch.FloatTensor` of shape `[batch, entities]`): their probabilities (CRF marginals of their
            tags, geometric mean; or the span probability); 1 for gold entities, 0 on padding.
        relation_logits (`torch.FloatTensor` of shape `[batch, entities, entities, relation types]`): `[b, i, j, r]`
            scores relation r with head entity i and tail entity j.
        word_mask (`torch.BoolTensor` of shape `[batch, words]`): real words.
    """

    loss: torch.FloatTensor | None = None
    ner_loss: torch.FloatTensor | None = None
    relation_loss: torch.FloatTensor | None = None
    ner_logits: torch.FloatTensor | None = None
    entity_spans: torch.LongTensor | None = None
    entity_scores: torch.FloatTensor | None = None
    relation_logits: torch.FloatTensor | None = None
    word_mask: torch.BoolTensor | None = None


class BiRnnStack(nn.Module):
    """`num_layers` bidirectional LSTM or GRU layers, dropout before each; zero layers pass the input through."""

    def __init__(self, config: JointErConfig, input_size: int, num_layers: int):
        super().__init__()
        rnn_class = {"lstm": nn.LSTM, "gru": nn.GRU}[config.rnn_type]
        sizes = [input_size] + [2 * config.rnn_hidden_size] * num_layers
        self.layers = nn.ModuleList(
            rnn_class(size, config.rnn_hidden_size, batch_first=True, bidirectional=True) for size in sizes[:-1]
        )
        self.dropout = nn.Dropout(config.rnn_dropout)
        self.output_size = sizes[-1]

    def forward(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`[batch, words, input]` -> `[batch, words, output_size]`; padding stays out of both directions (each layer
        as a packed sequence would run it, on the padded rows: `modeling_core.bidirectional_rnn`)."""
        for layer in self.layers:
            words = bidirectional_rnn(layer, self.dropout(words), lengths)
        return words


# ----------------------------------------------------------------------------------------------------- RE scorer


class RelationScorer(nn.Module):
    """Relation scores between every ordered pair of entities of a row.

    An entity is its last word's RE state joined with an embedding of its label; DistMult per relation type (a
    diagonal matrix each) and the cosine distance of feed-forward-transformed pairs go through a linear layer to one
    logit per relation type. With `config.asymmetric_relations` the DistMult arguments are a linear map of the head
    entity and another of the tail entity, so that (i, j) and (j, i) score differently; without, both are the
    layer-normalised entity (the paper's symmetric scorer, at a scale it can learn from). With
    `config.relation_context` a feed-forward layer over `pair_features` (both entities' and the between-words' mean
    states, both labels) adds a logit per relation type, starting at zero."""

    def __init__(self, config: JointErConfig, input_size: int):
        super().__init__()
        size = input_size + config.label_embedding_size
        self.label_embedding = nn.Embedding(len(config.entity_types), config.label_embedding_size)
        self.dropout = nn.Dropout(config.re_dropout)
        # diagonals [relations, size], drawn by `_init_weights` around `init_distmult`'s mean
        self.distmult = nn.Parameter(torch.ones(len(config.relation_types), size))
        # DistMult is symmetric (score(i, j) = score(j, i)): alone it cannot tell a relation's head from its tail.
        # With `asymmetric_relations`, heads and tails are mapped apart first (beyond the paper).
        if config.asymmetric_relations:
            self.head, self.tail = nn.Linear(size, size), nn.Linear(size, size)
            for linear in (self.head, self.tail):
                linear.init_std = size**-0.5
            self.init_distmult = (1.0, None)  # mean, std (None: the encoder's initializer_range)
        else:
            # The BiRNN states reaching the scorer are small (a few hundredths each), so their raw products start
            # near 0 and the diagonals cannot grow fast enough: on CoNLL04 the paper's scorer never left the base
            # rate (BENCHMARKS.md). Both arguments get the same parameter-free normalisation, which keeps the
            # scorer symmetric and its scores at unit scale whatever the states' scale; diagonals start small.
            self.head = self.tail = nn.LayerNorm(size, elementwise_affine=False)
            self.init_distmult = (0.0, size**-0.5)
        self.transform = nn.Sequential(nn.Linear(size, config.re_hidden_size), ACTIVATIONS[config.re_activation]())
        self.output = nn.Linear(len(config.relation_types) + 1, len(config.relation_types))
        # Every relation logit starts as its own DistMult score, heads and tails mapped at their scale: a small
        # random start would give the pair scores almost no gradient.
        self.output.init_identity = True
        self.context = None
        if config.relation_context:
            # both entities' and the between-words' mean states, both labels -> a logit per relation type
            pair_size = 3 * input_size + 2 * config.label_embedding_size
            self.context = nn.Sequential(
                nn.Linear(pair_size, config.re_hidden_size),
                ACTIVATIONS[config.re_activation](),
                nn.Dropout(config.re_dropout),
                nn.Linear(config.re_hidden_size, len(config.relation_types)),
            )
            self.context[-1].init_std = 0.0  # starts at zero: the scores begin as the scorer's without it

    def forward(self, words: torch.Tensor, entity_spans: torch.Tensor) -> torch.Tensor:
        """RE word states `[batch, words, input]` and entities `[batch, entities, 3]` (padded with -1) -> logits
        `[batch, entities, entities, relation types]`."""
        valid = entity_spans[:, :, 0] >= 0
        last = entity_spans[:, :, 1].clamp(min=0)
        states = words.gather(1, last[:, :, None].expand(-1, -1, words.shape[-1]))  # [batch, entities, input]
        labels = self.label_embedding(entity_spans[:, :, 2].clamp(min=0))
        entities = self.dropout(torch.cat([states, labels], dim=-1)) * valid[:, :, None]  # [batch, entities, size]
        distmult = torch.einsum("bip,rp,bjp->bijr", self.head(entities), self.distmult, self.tail(entities))
        transformed = F.normalize(self.transform(entities), dim=-1)
        cosine_distance = 1.0 - transformed @ transformed.transpose(1, 2)  # [batch, entities, entities]
        logits = self.output(torch.cat([distmult, cosine_distance[..., None]], dim=-1))
        if self.context is None:
            return logits
        return logits + self.context(self.dropout(pair_features(words, entity_spans, labels)))

    @staticmethod
    def pair_mask(entity_spans: torch.Tensor) -> torch.Tensor:
        """`[batch, entities, entities]`: pairs of two different real entities."""
        valid = entity_spans[:, :, 0] >= 0
        different = ~torch.eye(entity_spans.shape[1], dtype=torch.bool, device=entity_spans.device)
        return valid[:, :, None] & valid[:, None, :] & different


# ------------------------------------------------------------------------------------------------------- the model


class JointErPreTrainedModel(ChecksLoading, SavesPipelineCode, PreTrainedModel):
    config_class = JointErConfig
    base_model_prefix = "encoder"
    main_input_name = "input_ids"
    _supports_sdpa = True
    # the pipeline module is imported by neither the model nor the processor: a saved folder gets it by name
    pipeline_module, pipeline_class, remote_task = "pipeline_joint_er.py", "JointErPipeline", REMOTE_JOINT_ER_TASK

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # transformers initialises leaf modules one by one (and skips custom modules without parameters of their
        # own), so the heads' special starts ride on their layers as `init_*` attributes set in the constructors.
        std = self.config.encoder_config.initializer_range
        if isinstance(module, nn.Linear):
            if getattr(module, "init_identity", False):
                init.eye_(module.weight)
            else:
                init.normal_(module.weight, mean=0.0, std=getattr(module, "init_std", std))
            if module.bias is not None:
                init.constant_(module.bias, getattr(module, "init_bias", 0.0))
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
        elif isinstance(module, RelationScorer):
            # diagonals around the scorer's `init_distmult`: near one with head and tail maps (each relation type
            # starts as their dot product), small around zero over layer-normalised entities (symmetric)
            mean, distmult_std = module.init_distmult
            init.normal_(module.distmult, mean=mean, std=std if distmult_std is None else distmult_std)
        elif isinstance(module, SpanHeads):
            module.initialize(std)
        elif isinstance(module, LinearChainCrf):
            for parameter in (module.transitions, module.start_transitions, module.end_transitions):
                init.zeros_(parameter)
        # BiRNN layers keep PyTorch's own initialisation.


class JointErModel(JointErPreTrainedModel):
    """Joint NER and relation extraction (Crone, 2020) over any `AutoModel` encoder.

    Words (first sub-word, or mean of sub-words) go through `num_shared_layers` BiRNN layers, then through
    `num_ner_layers` NER-specific layers to the NER head and `num_re_layers` RE-specific layers to the relation
    scorer. Relations are scored between the gold entities in training and the predicted ones at inference, over all
    pairs of a batch at once. Loss: `L_NER + relation_loss_weight · L_RE` (binary cross-entropy per relation type).

    Example:
        >>> model = JointErModel.from_encoder(entity_types=["Peop"], relation_types=["Kill"])  # doctest: +SKIP
        >>> outputs = model(**batch)  # doctest: +SKIP
        >>> outputs.relation_logits.shape  # [batch, entities, entities, relation types]  # doctest: +SKIP
    """

    def __init__(self, config: JointErConfig, encoder: PreTrainedModel | None = None):
        super().__init__(config)
        if not config.entity_types or not config.relation_types:
            raise ValueError(
                "JointErModel needs entity types and relation types: give JointErConfig(entity_types=[...], "
                "relation_types=[...]) or JointErModel.from_encoder(entity_types=[...], relation_types=[...])."
            )
        self.encoder = encoder if encoder is not None else build_encoder(config.encoder_config)
        # seeds/003's token representation: the encoder's word state, a character-level embedding, a casing vector
        self.char_rnn = None
        if config.char_features:
            self.char_rnn = CharBiRnn(config.char_embedding_size, config.char_hidden_size)
        extra = (len(CASING_CLASSES) if config.casing_features else 0) + (
            self.char_rnn.output_size if self.char_rnn else 0
        )
        self.shared = BiRnnStack(config, config.hidden_size + extra, config.num_shared_layers)
        self.ner_layers = BiRnnStack(config, self.shared.output_size, config.num_ner_layers)
        self.re_layers = BiRnnStack(config, self.shared.output_size, config.num_re_layers)
        self.ner_head = NER_HEADS[config.ner_head](config, self.ner_layers.output_size)
        self.relation_scorer = RelationScorer(config, self.re_layers.output_size)
        if config.freeze_encoder:
            self.encoder.requires_grad_(False)
        self.post_init()

    @classmethod
    def from_encoder(
        cls,
        encoder_name_or_path: str | None = None,
        entity_types: list[str] | None = None,
        relation_types: list[str] | None = None,
        **config_kwargs,
    ) -> JointErModel:
        """A new model on a pretrained encoder (the packaged all-MiniLM-L6-v2 by default); the rest starts untrained.

        Example:
            >>> model = JointErModel.from_encoder(entity_types=["Drug", "Effect"], relation_types=["Causes"],
            ...                                   ner_head="span", freeze_encoder=True)  # doctest: +SKIP
        """
        encoder, encoder_name_or_path = load_encoder(encoder_name_or_path)
        config = JointErConfig(
            encoder_config=encoder.config.to_dict(),
            entity_types=entity_types,
            relation_types=relation_types,
            encoder_name=encoder_name_or_path,
            **config_kwargs,
        )
        return cls(config, encoder=encoder)

    def train(self, mode: bool = True) -> JointErModel:
        super().train(mode)
        if self.config.freeze_encoder:
            self.encoder.eval()  # a frozen encoder runs without dropout, as a fixed feature extractor
        return self

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        word_ids: torch.LongTensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        relation_labels: torch.LongTensor | None = None,
        entity_threshold: float | None = None,
        casing_ids: torch.LongTensor | None = None,
        char_ids: torch.LongTensor | None = None,
        input_signature: torch.LongTensor | None = None,
        return_dict: bool | None = None,
    ) -> JointErOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids (`torch.LongTensor` of shape `[batch, seq]`): one window each.
            word_ids (`torch.LongTensor` of shape `[batch, seq]`): the window word each token belongs to, -1 for
                special tokens and padding.
            labels (`torch.LongTensor` of shape `[batch, entities, 3]`, *optional*): gold entities as (first word,
                last word, type), padded with -100.
            relation_labels (`torch.LongTensor` of shape `[batch, relations, 3]`, *optional*): gold relations as
                (head entity, tail entity, relation type), entities indexed in `labels`' row, padded with -100.
            entity_threshold (`float`, *optional*): span head: probability a (span, type) must exceed to be an
                entity at inference; `config.entity_threshold` by default.
            casing_ids (`torch.LongTensor` of shape `[batch, seq]`): each token's casing class (of its word);
                required with `config.casing_features` (the processor writes it).
            char_ids (`torch.LongTensor` of shape `[batch, words, characters]`): each window word's character ids,
                0 padding; required with `config.char_features` (the processor writes it).
            input_signature (`torch.LongTensor` of shape `[batch]`, *optional*): the processor's
                `config.input_signature()`; inputs built for another configuration are refused.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if word_ids is None:
            raise ValueError("word_ids is required (the word of each token); the processor builds it.")
        check_input_signature(self.config, input_signature, "JointErProcessor")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze_encoder):
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, **_optional(token_type_ids=token_type_ids)
            ).last_hidden_state  # [batch, seq, hidden]
        words, word_mask = pool_words(states, word_ids, self.config.word_pooling)  # [batch, words, hidden]
        check_switch_input(self.config, "casing_features", casing_ids, "casing_ids", "JointErProcessor")
        check_switch_input(self.config, "char_features", char_ids, "char_ids", "JointErProcessor")
        if self.config.casing_features:
            casing = F.one_hot(casing_ids, len(CASING_CLASSES)).to(words.dtype)
            words = torch.cat([words, pool_words(casing, word_ids, "first")[0]], dim=-1)  # seeds/003's casing vector
        if self.char_rnn is not None:
            words = torch.cat([words, self.char_rnn(char_ids, words.shape[1]).to(words.dtype)], dim=-1)
        lengths = word_mask.sum(dim=1).clamp(min=1)
        shared = self.shared(words, lengths)
        gold = threshold = None
        if labels is not None:
            gold = labels.masked_fill(labels == LABEL_PAD, -1)
        else:
            threshold = self.config.entity_threshold if entity_threshold is None else entity_threshold
            if not 0.0 <= threshold < 1.0:
                raise ValueError(f"entity_threshold={threshold!r} must be a probability in [0, 1).")
        # a head may score only what its loss (gold) or its decision (threshold) reads
        ner_logits = self.ner_head(self.ner_layers(shared, lengths), word_mask, gold, threshold)
        re_states = self.re_layers(shared, lengths)

        loss = ner_loss = relation_loss = None
        if labels is not None:
            entity_spans, entity_scores = gold, (gold[:, :, 0] >= 0).float()
            relation_logits = self.relation_scorer(re_states, entity_spans)
            ner_loss = self.ner_head.loss(ner_logits, gold, word_mask, self.config.positive_weight)
            relation_loss = self._relation_loss(relation_logits, entity_spans, relation_labels)
            loss = ner_loss + self.config.relation_loss_weight * relation_loss
        else:
            entity_spans, entity_scores = self.ner_head.predict(
                ner_logits, word_mask, threshold, self.config.overlapping_entities
            )
            relation_logits = self.relation_scorer(re_states, entity_spans)
        output = JointErOutput(
            loss=loss,
            ner_loss=ner_loss,
            relation_loss=relation_loss,
            ner_logits=ner_logits,
            entity_spans=entity_spans,
            entity_scores=entity_scores,
            relation_logits=relation_logits,
            word_mask=word_mask,
        )
        return output if return_dict else output.to_tuple()

    def _relation_loss(
        self, logits: torch.Tensor, entity_spans: torch.Tensor, relation_labels: torch.Tensor | None
    ) -> torch.Tensor:
        """Mean binary cross-entropy over every (pair of different gold entities, relation type), gold relations
        weighing `config.positive_weight`."""
        targets = torch.zeros_like(logits, dtype=torch.float)
        if relation_labels is not None:
            rows, relations = (relation_labels[:, :, 0] >= 0).nonzero(as_tuple=True)
            head, tail, kind = relation_labels[rows, relations].unbind(-1)
            targets[rows, head, tail, kind] = 1.0
        pairs = RelationScorer.pair_mask(entity_spans)[..., None].float()
        losses = weighted_bce(logits, targets, self.config.positive_weight)
        return (losses * pairs).sum() / (pairs.sum() * logits.shape[-1]).clamp(min=1.0)


# ----------------------------------------------------------------------------------------------------- functions


def pool_words(states: torch.Tensor, word_ids: torch.Tensor, pooling: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Word states from sub-word states `[batch, seq, hidden]` and their word ids `[batch, seq]` (-1: none): the
    first sub-word's state or the mean of them. Returns `[batch, words, hidden]` and the word mask `[batch, words]`.

    Example:
        >>> states = torch.arange(6.0).view(1, 3, 2); word_ids = torch.tensor([[0, 0, 1]])
        >>> pool_words(states, word_ids, "mean")[0].tolist()
        [[[1.0, 2.0], [4.0, 5.0]]]
    """
    batch, seq, hidden = states.shape
    words = int(word_ids.max().item()) + 1 if word_ids.numel() else 0
    words = max(words, 1)
    real = word_ids >= 0
    if pooling == "first":
        previous = F.pad(word_ids, (1, 0), value=-1)[:, :-1]
        real = real & (word_ids != previous)
    bins = (torch.arange(batch, device=states.device)[:, None] * words + word_ids.clamp(min=0))[real]
    sums = states.new_zeros(batch * words, hidden).index_add_(0, bins, states[real])
    counts = states.new_zeros(batch * words).index_add_(0, bins, states.new_ones(bins.shape[0]))
    pooled = sums / counts.clamp(min=1.0)[:, None]
    return pooled.view(batch, words, hidden), (counts > 0).view(batch, words)


def pair_features(words: torch.Tensor, entity_spans: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per ordered pair of entities (i, j): the mean state of i's words, of j's words and of the words between them
    (zeros when none lie between, as for overlapping entities), then i's and j's label embeddings. Words `[batch,
    words, size]`, entities `[batch, entities, 3]` (first, last, type; -1 padding), labels `[batch, entities, label]`
    -> `[batch, entities, entities, 3 · size + 2 · label]`. Means come from prefix sums (in float32), so memory grows
    with the pairs, not with pairs times words.

    Example:
        >>> words = torch.arange(5.0)[None, :, None]; spans = torch.tensor([[[0, 0, 0], [3, 4, 0]]])
        >>> pair_features(words, spans, torch.zeros(1, 2, 0))[0, 0, 1].tolist()  # 0 | mean(3, 4) | mean(1, 2)
        [0.0, 3.5, 1.5]
    """
    prefix = F.pad(words.float().cumsum(dim=1), (0, 0, 1, 0))  # [batch, words + 1, size]

    def mean(first: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Mean state of words first..last per index (zeros where last < first)."""
        count = (last - first + 1).clamp(min=0)
        shape = first.shape
        rows = torch.arange(shape[0], device=words.device).view(-1, *([1] * (len(shape) - 1))).expand(shape)
        top, bottom = (last + 1).clamp(min=0, max=words.shape[1]), first.clamp(min=0, max=words.shape[1])
        sums = prefix[rows, top] - prefix[rows, bottom]
        return (sums / count.clamp(min=1)[..., None] * (count > 0)[..., None]).to(words.dtype)

    first, last = entity_spans[:, :, 0].clamp(min=0), entity_spans[:, :, 1].clamp(min=0)
    entities = mean(first, last)  # [batch, entities, size]
    between_first = torch.minimum(last[:, :, None], last[:, None, :]) + 1
    between_last = torch.maximum(first[:, :, None], first[:, None, :]) - 1
    between = mean(between_first, between_last)  # [batch, entities, entities, size]
    count = entity_spans.shape[1]
    return torch.cat(
        [
            entities[:, :, None].expand(-1, -1, count, -1),
            entities[:, None, :].expand(-1, count, -1, -1),
            between,
            labels[:, :, None].expand(-1, -1, count, -1),
            labels[:, None, :].expand(-1, count, -1, -1),
        ],
        dim=-1,
    )


def _optional(**inputs) -> dict:
    return {name: value for name, value in inputs.items() if value is not None}


__all__ = ["JointErModel", "JointErOutput", "JointErPreTrainedModel", "RelationScorer", "pair_features", "pool_words"]
