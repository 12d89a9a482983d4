"""Configuration of the joint entity and relation extraction family (Crone, 2020: "Deeper Task-Specificity Improves
Joint Entity and Relation Extraction")."""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .encoders import default_encoder_path
from .modeling_core import check_extra_fields, check_field_values, checked_names, is_saved_config, signature_digest

RNN_TYPES = ("lstm", "gru")
NER_HEADS = ("bio_crf", "span", "start_end_span")
WORD_POOLINGS = ("first", "mean")
ACTIVATIONS = ("relu", "gelu", "tanh", "linear")

# The installed pipeline task, and the one recorded in saved folders for trust_remote_code loading (it must not
# shadow the installed one: transformers refuses a task recorded in a folder unless trust_remote_code=True).
JOINT_ER_TASK = "joint-er"
REMOTE_JOINT_ER_TASK = "joint-er-remote"

# The paper's ablation as config changes from the defaults (1 shared, 1 NER-specific, 2 RE-specific BiRNN layers):
# no NER-specific, no RE-specific, or no task-specific layers, with as many more shared layers as were taken away,
# so that the number of BiRNN layers (and about the number of parameters) stays the same.
ABLATIONS = {
    "full": {},
    "no_ner_layers": {"num_shared_layers": 2, "num_ner_layers": 0, "num_re_layers": 2},
    "no_re_layers": {"num_shared_layers": 3, "num_ner_layers": 1, "num_re_layers": 0},
    "no_task_layers": {"num_shared_layers": 4, "num_ner_layers": 0, "num_re_layers": 0},
}


class JointErConfig(PreTrainedConfig):
    r"""Configuration of a [`JointErModel`]: an encoder, shared and task-specific BiRNN layers, a NER head (BIO tags
    and a CRF, or span scores) and DistMult relation scoring.

    The encoder's own config is stored inside this one (`encoder_config`), so a saved model rebuilds offline.

    Args:
        encoder_config (`dict` or `PreTrainedConfig`): config of any `AutoModel` encoder (BERT, RoBERTa, ...).
        entity_types (`list[str]`): entity types; their order is the type axis of every tensor.
        relation_types (`list[str]`): relation types; their order is the relation axis.
        freeze_encoder (`bool`, defaults to `False`): keep the encoder's weights fixed (the paper froze ELMo).
        casing_features (`bool`, defaults to `True`): seeds/003's one-hot casing vector
            (`word_features.CASING_CLASSES`) joined to each word's encoder state before the shared BiRNN; the packaged
            encoder is uncased, so this is how capital letters reach the model. The processor writes `casing_ids`.
            (Configs saved before this field existed load with it off, the form they were trained in.)
        char_features (`bool`, defaults to `True`): seeds/003's character-level word embedding, learned by one
            BiLSTM over each word's characters (the last states of both directions), joined to each word's encoder
            state; it sees the original case. The processor writes `char_ids` (each word's first
            `word_features.MAX_WORD_CHARS` characters, code points folded into `word_features.CHAR_VOCABULARY`).
            (Likewise off for configs saved before it existed.)
        char_embedding_size (`int`, defaults to 25), char_hidden_size (`int`, defaults to 25): the character
            embedding and each direction of its BiLSTM.
        word_pooling (`str`, defaults to `"first"`): a word's representation from its sub-word states: its first
            sub-word's state, or the `"mean"` of them.
        rnn_type (`str`, defaults to `"lstm"`): `"lstm"` or `"gru"` for every BiRNN layer.
        rnn_hidden_size (`int`, defaults to 128): hidden size of each direction of each BiRNN layer.
        num_shared_layers (`int`, defaults to 1): BiRNN layers shared by both tasks (0 allowed).
        num_ner_layers (`int`, defaults to 1): NER-specific BiRNN layers on top of the shared ones (0 allowed).
        num_re_layers (`int`, defaults to 2): RE-specific BiRNN layers on top of the shared ones (0 allowed).
        rnn_dropout (`float`, defaults to 0.1): dropout before each BiRNN layer.
        ner_head (`str`, defaults to `"start_end_span"`): `"start_end_span"`, Multi-NER's start, end and span heads
            per type (with interior span features) over the NER word states, an entity where all three exceed the
            threshold (overlapping and nested entities can be kept); `"bio_crf"`, BIO tags over words with a
            linear-chain CRF (the paper; entities cannot overlap); or `"span"`, one score per (span, type).
        ner_hidden_size (`int`, defaults to 128) / ner_activation (`str`, defaults to `"relu"`): the first NER
            feed-forward layer (the second maps to tag scores, or span-type scores); `start_end_span`: the span-match
            layer's width (its activation is Multi-NER's GELU).
        bio_constraints (`bool`, defaults to `True`): the CRF forbids I-X after anything but B-X / I-X, in training
            and decoding.
        max_span_length (`int`, defaults to 16): longest entity in words the span heads score.
        shared_boundary_head (`bool`, defaults to `True`): `start_end_span` head: beside each type's start and end
            heads, one start / end pair every type adds to its own (Multi-NER's `shared_boundary_head`), learnt from
            every type's examples and starting at zero. The types read the same NER word states here, so the pair is
            what marks an entity's boundary whatever its type. (Configs saved before this field existed load with it
            off.)
        entity_threshold (`float`, defaults to 0.5): span heads: probability a (span, type) must exceed (with
            `start_end_span`, each of its start, end and span probabilities).
        overlapping_entities (`bool`, defaults to `True`): span heads: keep every (span, type) above the threshold, so
            entities may overlap and nest; `False` keeps, of predicted spans that overlap, the most probable (greedy by
            probability), for flat data (`examples/train_joint_er.py` sets it from the training data). The BIO head is
            always flat.
        label_embedding_size (`int`, defaults to 32): size of the learned entity-label embedding joined to an
            entity's RE state.
        re_hidden_size (`int`, defaults to 128) / re_activation (`str`, defaults to `"relu"`): the feed-forward layer
            whose outputs' cosine distance joins the DistMult scores.
        re_dropout (`float`, defaults to 0.1): dropout before relation scoring.
        asymmetric_relations (`bool`, defaults to `True`): map head and tail entities apart (two linear layers)
            before DistMult. DistMult alone, the paper's scorer, is symmetric: it gives (i, j) and (j, i) the same
            score, so it cannot learn a directed relation (`False` for the paper's scorer, over layer-normalised
            entities: without the normalisation it did not train, BENCHMARKS.md).
        relation_context (`bool`, defaults to `True`): beyond the paper, as SpERT scores pairs: the mean RE state of
            each entity's words and of the words between the two entities (zeros when none lie between), with both
            labels' embeddings, through a feed-forward layer (`re_hidden_size`) to a logit per relation type that is
            added to the DistMult logits. Its output layer starts at zero: at initialisation the scores are the
            scorer's without it. (Configs saved before this field existed load with it off.)
        relation_threshold (`float`, defaults to 0.5): probability a relation must exceed to be predicted.
        relation_loss_weight (`float`, defaults to 5.0): λ in `L_NER + λ·L_RE` (the paper's 5).
        positive_weight (`float`, defaults to 5.0): weight of the positive targets in the binary cross-entropies
            (the span head's gold (span, type) pairs and the relation scorer's gold (pair, relation type)), against
            1 for the negatives: few candidates are positives, and with 1 both heads under-predict (BENCHMARKS.md,
            joint ER: strict relation F1 on CoNLL04 dev 41.10 with 1, 48.62 with 5). Training only; 1 is plain BCE
            (configs saved before this field existed load with 5).
        encoder_name (`str`, *optional*): the name or path the encoder was loaded from; model cards cite it.

    Example:
        >>> from transformers import BertConfig
        >>> config = JointErConfig(encoder_config=BertConfig(hidden_size=32).to_dict(), entity_types=["Peop", "Loc"],
        ...                        relation_types=["Live_In"], **ABLATIONS["no_re_layers"])
        >>> config.num_shared_layers, config.num_re_layers, config.tags
        (3, 0, ['O', 'B-Peop', 'I-Peop', 'B-Loc', 'I-Loc'])
    """

    model_type = "multiner-joint-er"
    # what the processor's labels depend on (`input_signature`)
    signature_fields = ("entity_types", "relation_types", "ner_head", "max_span_length")
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder_config: dict | PreTrainedConfig | None = None
    entity_types: list[str] | None = None
    relation_types: list[str] | None = None
    freeze_encoder: bool = False
    casing_features: bool | None = None
    char_features: bool | None = None
    char_embedding_size: int = 25
    char_hidden_size: int = 25
    word_pooling: str = "first"
    rnn_type: str = "lstm"
    rnn_hidden_size: int = 128
    num_shared_layers: int = 1
    num_ner_layers: int = 1
    num_re_layers: int = 2
    rnn_dropout: float = 0.1
    ner_head: str = "start_end_span"
    ner_hidden_size: int = 128
    ner_activation: str = "relu"
    bio_constraints: bool = True
    max_span_length: int = 16
    shared_boundary_head: bool | None = None
    entity_threshold: float = 0.5
    overlapping_entities: bool = True
    label_embedding_size: int = 32
    re_hidden_size: int = 128
    re_activation: str = "relu"
    re_dropout: float = 0.1
    asymmetric_relations: bool = True
    relation_context: bool | None = None
    relation_threshold: float = 0.5
    relation_loss_weight: float = 5.0
    positive_weight: float = 5.0
    encoder_name: str | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        check_extra_fields(self, kwargs)
        super().__post_init__(**kwargs)
        self.entity_types = checked_names(self, "entity_types")
        self.relation_types = checked_names(self, "relation_types")
        for switch in ("casing_features", "char_features", "relation_context", "shared_boundary_head"):
            if getattr(self, switch) is None:  # unset in a saved config: it predates the switch (trained off)
                setattr(self, switch, not is_saved_config(self))
        self._check_fields()

    @property
    def hidden_size(self) -> int:
        return self.encoder_config.hidden_size

    @property
    def span_entities(self) -> bool:
        """Whether the NER head scores spans (`span`, `start_end_span`): entities above `entity_threshold`, at most
        `max_span_length` words, overlapping ones kept with `overlapping_entities`; `False` for BIO tags."""
        return self.ner_head != "bio_crf"

    @property
    def tags(self) -> list[str]:
        """The BIO tags of the CRF head: `O`, then `B-type`, `I-type` per entity type (tag 1 + 2t is B of type t)."""
        return ["O"] + [f"{prefix}-{name}" for name in self.entity_types for prefix in ("B", "I")]

    def input_signature(self) -> int:
        """A 63-bit digest of what the processor's labels depend on (entity and relation types in order, NER head,
        span length); the processor writes it into every batch and the model checks it."""
        return signature_digest(self)

    def _check_fields(self) -> None:
        choices = {
            "word_pooling": WORD_POOLINGS,
            "rnn_type": RNN_TYPES,
            "ner_head": NER_HEADS,
            "ner_activation": ACTIVATIONS,
            "re_activation": ACTIVATIONS,
        }
        sizes = (
            "rnn_hidden_size",
            "ner_hidden_size",
            "max_span_length",
            "label_embedding_size",
            "re_hidden_size",
            "char_embedding_size",
            "char_hidden_size",
        )
        check_field_values(
            self,
            choices,
            positive_ints=sizes,
            counts=("num_shared_layers", "num_ner_layers", "num_re_layers"),
            fractions=("rnn_dropout", "re_dropout", "entity_threshold", "relation_threshold"),
            non_negative=("relation_loss_weight",),
        )
        if isinstance(self.positive_weight, bool) or not self.positive_weight > 0:
            raise ValueError(f"JointErConfig.positive_weight={self.positive_weight!r} must be > 0.")


__all__ = [
    "ABLATIONS",
    "JOINT_ER_TASK",
    "REMOTE_JOINT_ER_TASK",
    "JointErConfig",
    "default_encoder_path",
]
