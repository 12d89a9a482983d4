"""Configuration of Multi-NER (and of BERT-MRC, which is Multi-NER with shared heads and no type attention)."""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from .encoders import default_encoder_path
from .modeling_core import check_extra_fields, check_field_values, checked_names, is_saved_config, signature_digest
from .query_modes_multiner import QUERY_MODES

TYPE_ATTENTION_MODES = ("none", "token", "full")
SPAN_CANDIDATE_MODES = ("all", "pred_and_gold")
SPAN_FEATURE_MODES = ("boundaries", "interior")

# The pipeline task of an installed multiner, and the one recorded in saved folders for trust_remote_code loading:
# transformers refuses a task recorded in a folder's config unless trust_remote_code=True, so the recorded task must
# not shadow the installed one.
MULTINER_TASK = "multi-ner"
REMOTE_MULTINER_TASK = "multi-ner-remote"

# The BERT-MRC baseline (Li et al., 2020) as a set of switches on this config.
BERT_MRC = {
    "share_heads": True,
    "type_attention": "none",
    "shared_boundary_head": False,
    "casing_features": False,
    "char_features": False,
}
# The decision threshold of a model that was not calibrated.
DEFAULT_THRESHOLD = 0.5


class MultiNerConfig(PreTrainedConfig):
    r"""Configuration of a [`MultiNerModel`].

    The encoder's own config is stored inside this one (`encoder_config`), so a saved model rebuilds offline.

    Args:
        encoder_config (`dict` or `PreTrainedConfig`):
            Config of any `AutoModel` encoder (BERT, RoBERTa, ...).
        entity_types (`list[str]`, defaults to `[]`):
            The entity types, one query and one task per type. Order defines the type axis of every tensor. The
            config builds without them (as transformers expects of every config); a model needs at least one.
        type_attention (`str`, defaults to `"full"`):
            Self-attention across the per-type representations: `"none"`, `"token"` (across types at each context
            position, O(types² · seq)) or `"full"` (across every type × position, as in the authors' code).
        type_attention_heads (`int`, defaults to 4):
            Heads of the type attention (and of the packed mode's query attention); must divide the encoder's hidden
            size.
        type_attention_dropout (`float`, defaults to 0.1):
            Dropout on the type attention's output before the residual.
        share_heads (`bool`, defaults to `False`):
            One set of start / end / span heads for all types (BERT-MRC) instead of one set per type.
        shared_boundary_head (`bool`, defaults to `True`):
            Beside each type's own start and end heads, one start / end pair shared by every type and added to
            each type's: what marks an entity's boundary in general is learnt from every type's examples, which a
            rare type's own head sees few of. It starts at zero (the model without it). Configs saved before this
            field existed load as `False`; `BERT_MRC` turns it off (its one head set is already shared).
        span_hidden_size (`int`, *optional*):
            Hidden size of the span-match MLP; defaults to the encoder's hidden size.
        head_dropout (`float`, defaults to 0.1):
            Dropout on the representations fed to the heads and inside the span-match MLP.
        max_span_length (`int`, defaults to 32):
            Longest span, in sub-word tokens, the span-match head scores. Memory grows linearly with it.
        max_span_candidates (`int`, defaults to 512):
            Prediction only: the most spans the span-match head scores per type and window, those whose start and
            end are the most probable (`log σ(start) + log σ(end)`) among the spans whose start and end clear the
            threshold. Bounds prediction time and memory however unsure the model is (an unsure model on new data
            can have thousands of such spans per window); below the cap every such span is scored, as without it.
            Spans left out when it is reached are counted in a `SpanCandidatesCappedWarning`.
        span_candidates (`str`, defaults to `"pred_and_gold"`):
            Spans that enter the span-match loss: `"all"` (every valid span) or `"pred_and_gold"` (spans whose start
            and end are both predicted, or both gold).
        span_features (`str`, defaults to `"interior"`):
            What the span-match head sees of span (i, j): `"boundaries"`, the two end tokens only (the paper); or
            `"interior"`, also the mean of the span's tokens, a width embedding, and a veto from its most
            boundary-like token, so a span that runs across a sentence or across two entities can be rejected.
            Configs saved before this field existed load as `"boundaries"`.
        start_loss_weight, end_loss_weight, span_loss_weight (`float`, defaults to 1.0, 1.0, 0.1):
            Weights of the three binary cross-entropy losses.
        positive_weight (`float` or `list[float]`, defaults to 5.0):
            Weight of the positive targets (gold starts, ends and spans) in the three binary cross-entropies, against
            1 for the negatives: counters how few positions are entity boundaries of a rare type (BENCHMARKS.md,
            rare types: with 1, a type with few examples was not learnt at all). A list gives each of
            `entity_types` its own weight, in order (`training_multiner.rarity_positive_weights` derives them from
            the training counts). Training only; 1 is plain BCE.
        decision_threshold (`float`, *optional*):
            The probability the start, end and span-match scores must each exceed for a span to be an entity when the
            caller gives none (pipeline, `processor.decode`, Trainer metrics); 0.5 when unset. Calibration on held-out
            training data sets it at the end of training (`MultiNerCalibrationCallback`); an explicit threshold wins.
        casing_features (`bool`, defaults to `True`):
            Give the heads each context token's casing class (`word_features.CASING_CLASSES`, of its whole word) as a
            learned vector added to its states; the vectors start at zero (the model without them). The packaged
            encoder is uncased: this is how capital letters reach the heads. The processor writes `casing_ids`.
            Configs saved before this field existed load as `False`; `BERT_MRC` turns it off (the paper's model).
        char_features (`bool`, defaults to `False`):
            Give the heads seeds/003's character-level embedding of each context token's whole word (a character
            BiLSTM, `modeling_core.CharBiRnn`, which sees the original case and spelling), projected to the hidden
            size and added to its states; the projection starts at zero (the model without it). The processor
            writes `char_ids`.
        char_embedding_size (`int`, defaults to 25), char_hidden_size (`int`, defaults to 25): the character
            BiLSTM's sizes (seeds/003's) with `char_features`.
        encoder_name (`str`, *optional*):
            The name or path the encoder was loaded from (`from_encoder` sets it); model cards cite it.
        query_mode (`str`, defaults to `"per_type"`):
            `"per_type"`: one `[CLS] query [SEP] context [SEP]` sequence per type (the paper). `"packed"`: one
            sequence per window, `[CLS] q_1 [SEP] ... q_T [SEP] context [SEP]`: the context attends to every query,
            the queries to each other only (so their states are computed once per batch, not once per window), and
            each type's view of a context token comes from attention from that token to the type's query tokens.
            Needs an encoder whose forward takes a key/value cache (BERT, RoBERTa, ELECTRA, XLM-R, ...).

    Example:
        >>> from transformers import BertConfig
        >>> config = MultiNerConfig(encoder_config=BertConfig(hidden_size=32).to_dict(), entity_types=["PER", "LOC"])
        >>> config.span_hidden_size
        32
    """

    model_type = "multiner"
    # what the processor's inputs depend on (`input_signature`)
    signature_fields = ("entity_types", "query_mode", "max_span_length")
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder_config: dict | PreTrainedConfig | None = None
    entity_types: list[str] | None = None
    type_attention: str = "full"
    type_attention_heads: int = 4
    type_attention_dropout: float = 0.1
    share_heads: bool = False
    shared_boundary_head: bool | None = None
    span_hidden_size: int | None = None
    head_dropout: float = 0.1
    max_span_length: int = 32
    max_span_candidates: int = 512
    span_candidates: str = "pred_and_gold"
    span_features: str | None = None
    start_loss_weight: float = 1.0
    end_loss_weight: float = 1.0
    span_loss_weight: float = 0.1
    positive_weight: float | list[float] = 5.0
    decision_threshold: float | None = None
    casing_features: bool | None = None
    char_features: bool = False
    char_embedding_size: int = 25
    char_hidden_size: int = 25
    query_mode: str = "per_type"
    encoder_name: str | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        check_extra_fields(self, kwargs)
        super().__post_init__(**kwargs)
        self.entity_types = checked_names(self, "entity_types")
        if self.span_hidden_size is None:
            self.span_hidden_size = self.encoder_config.hidden_size
        # unset in a saved config: it predates the field, and the model was trained without what it switches on
        if self.span_features is None:
            self.span_features = "boundaries" if is_saved_config(self) else "interior"
        if self.casing_features is None:
            self.casing_features = not is_saved_config(self)
        if self.shared_boundary_head is None:
            self.shared_boundary_head = not is_saved_config(self)
        self._check_fields()

    @property
    def threshold(self) -> float:
        """The decision threshold used when the caller gives none: the calibrated one, else 0.5."""
        return DEFAULT_THRESHOLD if self.decision_threshold is None else self.decision_threshold

    @property
    def hidden_size(self) -> int:
        return self.encoder_config.hidden_size

    @property
    def layer_norm_eps(self) -> float:
        # Encoder configs differ: DistilBERT's, for one, has no layer_norm_eps (its layers use BERT's 1e-12).
        return getattr(self.encoder_config, "layer_norm_eps", 1e-12)

    def input_signature(self) -> int:
        """A 63-bit digest of what the inputs' layout depends on: entity types (names and order), query mode and
        span length. The processor writes it into every batch and the model compares it with its own, so inputs built
        for another configuration fail before the first training step instead of training under the wrong names.

        Example:
            >>> a = MultiNerConfig(entity_types=["PER", "LOC"]); b = MultiNerConfig(entity_types=["LOC", "PER"])
            >>> a.input_signature() == b.input_signature()
            False
        """
        return signature_digest(self)

    def _check_fields(self) -> None:
        choices = {
            "type_attention": TYPE_ATTENTION_MODES,
            "span_candidates": SPAN_CANDIDATE_MODES,
            "span_features": SPAN_FEATURE_MODES,
            "query_mode": tuple(QUERY_MODES),
        }
        check_field_values(
            self,
            choices,
            positive_ints=(
                "type_attention_heads",
                "span_hidden_size",
                "max_span_length",
                "max_span_candidates",
                "char_embedding_size",
                "char_hidden_size",
            ),
            fractions=("type_attention_dropout", "head_dropout"),
            non_negative=("start_loss_weight", "end_loss_weight", "span_loss_weight"),
        )
        uses_heads = self.type_attention != "none" or self.query_mode == "packed"
        if uses_heads and self.hidden_size % self.type_attention_heads:
            raise ValueError(
                f"MultiNerConfig.type_attention_heads={self.type_attention_heads} must divide the encoder's hidden "
                f"size {self.hidden_size} (they also serve the packed query attention)."
            )
        weights = self.positive_weight if isinstance(self.positive_weight, list) else [self.positive_weight]
        if isinstance(self.positive_weight, list) and len(weights) != len(self.entity_types):
            raise ValueError(
                f"MultiNerConfig.positive_weight holds {len(weights)} weights for {len(self.entity_types)} entity "
                f"types ({self.entity_types}); give one number, or one per type in their order."
            )
        if not all(
            isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight > 0 for weight in weights
        ):
            raise ValueError(f"MultiNerConfig.positive_weight={self.positive_weight!r} must be > 0 (each of them).")
        threshold = self.decision_threshold
        if threshold is not None and (isinstance(threshold, bool) or not 0.0 <= threshold < 1.0):
            raise ValueError(
                f"MultiNerConfig.decision_threshold={threshold!r} must be a probability in [0, 1), or None for 0.5."
            )


__all__ = [
    "BERT_MRC",
    "DEFAULT_THRESHOLD",
    "MULTINER_TASK",
    "REMOTE_MULTINER_TASK",
    "MultiNerConfig",
    "default_encoder_path",
]
