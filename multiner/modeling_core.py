"""What the three families' models share: the label padding value, the input signature (a digest of the settings a
processor's inputs depend on, and the model's check of it), the checks every config makes of its own fields, the
weighted binary cross-entropy, window shifting, the span heads, bidirectional RNN layers over padded rows and
seeds/003's character BiLSTM."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from torch import nn
from transformers import initialization as init
from transformers.activations import ACT2FN

from .word_features import CHAR_VOCABULARY

# Label of a padding position (and of the placeholder row of an example without entities): ignored by every loss.
LABEL_PAD = -100


def signature_digest(config: Any) -> int:
    """A 63-bit digest of the values (JSON) of `config.signature_fields`, the settings a processor's inputs depend
    on: what a family's `config.input_signature()` returns.

    Example:
        >>> from types import SimpleNamespace
        >>> a = SimpleNamespace(signature_fields=["types"], types=["PER", "LOC"])
        >>> b = SimpleNamespace(signature_fields=["types"], types=["LOC", "PER"])
        >>> signature_digest(a) == signature_digest(b)
        False
    """
    layout = json.dumps([getattr(config, name) for name in config.signature_fields])
    return int.from_bytes(hashlib.sha256(layout.encode("utf-8")).digest()[:8], "big") >> 1


def check_input_signature(config: Any, input_signature: torch.Tensor | None, processor: str) -> None:
    """Refuse inputs whose `input_signature` (`[batch]`, written by the processor) is not `config.input_signature()`:
    they were built for other `config.signature_fields` (e.g. other entity types, or the same in another order), and
    would train or decode under the wrong names. `processor` names the family's processor class for the fix."""
    if input_signature is None or not (input_signature != config.input_signature()).any():
        return
    fields = config.signature_fields
    described = ", ".join(f"{name}={getattr(config, name)!r}" for name in fields)
    raise ValueError(
        f"These inputs were built by a processor for another model configuration ({', '.join(fields)} or their order "
        f"differ from this model's: {described}). Build the processor from this model: {processor}.from_model(model) "
        f"or {processor}.from_pretrained(model folder)."
    )


def check_switch_input(config: Any, switch: str, value: torch.Tensor | None, name: str, processor: str) -> None:
    """Refuse a forward pass without input `name` when the config's `switch` makes the model read it (word features:
    `casing_ids`, `char_ids`); `processor` names the family's processor class, which writes it."""
    if getattr(config, switch) and value is None:
        raise ValueError(f"This model has {switch}=True: give {name}; {processor}.from_model(model) writes them.")


def check_extra_fields(config: Any, extra: dict[str, Any]) -> None:
    """Refuse a config's extra keyword arguments (what it has no field for) that show a mistake: the `model_type` of
    another model (a folder of another family), or a near-miss of one of its own fields (`max_span_lenght=4`), which
    transformers would otherwise keep as a stray attribute while the real field silently keeps its default. Other
    extras (`auto_map`, `custom_pipelines`, ... that transformers writes into config.json) pass, as in transformers.
    """
    found = extra.get("model_type", config.model_type)
    if found != config.model_type:
        raise ValueError(
            f"This config is of a {found!r} model, not {config.model_type!r} ({type(config).__name__}): the folder "
            f"holds another kind of model. Load it with AutoModel.from_pretrained(folder) (and AutoProcessor, or "
            "pipeline(model=folder)), which pick the classes its config.json names."
        )
    fields = [field.name for field in dataclasses.fields(config)]
    own = fields[fields.index("encoder_config") :]  # a family's fields follow transformers' generic ones
    for name in extra:
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.8)
        if close:
            raise TypeError(
                f"{type(config).__name__} got an unknown field {name!r}. Did you mean {close[0]!r}? Its own fields "
                f"are {', '.join(own)}."
            )


class ChecksLoading:
    """Mixed into a family's `PreTrainedModel` (before it): `from_pretrained` failures on a broken folder name the
    file or the config field at fault instead of surfacing safetensors' or transformers' internals."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        folder = Path(str(pretrained_model_name_or_path), kwargs.get("subfolder") or "")
        if kwargs.get("config") is None and folder.is_dir() and not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} has no config.json, which holds the model's settings (entity types, encoder, heads): "
                "the folder is incomplete. Restore config.json from where the folder came from, or save the model "
                "again (model.save_pretrained, Trainer.save_model or pipeline.save_pretrained)."
            )
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except SafetensorError as error:
            raise OSError(
                f"The weights of {pretrained_model_name_or_path} (its .safetensors file) cannot be read: {error}. The "
                "file is truncated or corrupt; download or save the model again."
            ) from error
        except RuntimeError as error:
            if "ignore_mismatched_sizes" not in str(error):
                raise
            config = cls.config_class.from_pretrained(pretrained_model_name_or_path)
            described = ", ".join(f"{name}={getattr(config, name)!r}" for name in config.signature_fields)
            raise ValueError(
                f"The weights saved in {pretrained_model_name_or_path} do not fit its config.json ({described}): "
                "the parameter shapes those settings give differ from the saved ones (the load report above lists "
                "them). Restore config.json as it was saved; for other entity types, train a new model from the "
                "encoder (from_encoder)."
            ) from error


def is_saved_config(config: Any) -> bool:
    """Whether `config` was read from a saved folder (it records the transformers version that wrote it), not built
    for a new model. A field a saved config leaves unset (None) predates that field: it takes the value the saved
    model was trained with, where a new model takes the field's new default.

    Example:
        >>> from types import SimpleNamespace
        >>> is_saved_config(SimpleNamespace()), is_saved_config(SimpleNamespace(transformers_version="5.23.0"))
        (False, True)
    """
    return bool(getattr(config, "transformers_version", None))


def checked_names(config: Any, field: str) -> list[str]:
    """`config.<field>` (entity or relation types) as a list of distinct non-empty strings; None is no names. A string
    is refused rather than read as a list of its letters (`"ADR"` is not `["A", "D", "R"]`)."""
    names = getattr(config, field)
    owner = f"{type(config).__name__}.{field}"
    if isinstance(names, str):
        raise ValueError(f"{owner} must be a list of non-empty strings, got {names!r}: one name is [{names!r}].")
    names = list(names or [])
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"{owner} must be a list of non-empty strings, got {names!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{owner} has duplicates: {names!r}.")
    return names


def check_field_values(
    config: Any,
    choices: dict[str, tuple] | None = None,
    positive_ints: tuple[str, ...] = (),
    counts: tuple[str, ...] = (),
    fractions: tuple[str, ...] = (),
    non_negative: tuple[str, ...] = (),
) -> None:
    """Refuse the first of `config`'s fields whose value is out of its range, naming the class, the field, the value
    and what is allowed: `choices` (field -> allowed values), `positive_ints` (integers >= 1), `counts` (integers
    >= 0), `fractions` (numbers in [0, 1)), `non_negative` (numbers >= 0). A bool is no number here.

    Example:
        >>> from types import SimpleNamespace
        >>> check_field_values(SimpleNamespace(max_span_length=0), positive_ints=("max_span_length",))
        Traceback (most recent call last):
        ...
        ValueError: SimpleNamespace.max_span_length=0 must be a positive integer.
    """

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def integer(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    ranges = (
        (positive_ints, lambda value: integer(value) and value >= 1, "must be a positive integer"),
        (counts, lambda value: integer(value) and value >= 0, "must be a non-negative integer"),
        (fractions, lambda value: number(value) and 0 <= value < 1, "must be in [0, 1)"),
        (non_negative, lambda value: number(value) and value >= 0, "must be a number >= 0"),
    )
    owner = type(config).__name__
    for name, allowed in (choices or {}).items():
        value = getattr(config, name)
        if value not in allowed:
            raise ValueError(f"{owner}.{name}={value!r} is not allowed; use one of {tuple(allowed)}.")
    for names, fits, rule in ranges:
        for name in names:
            value = getattr(config, name)
            if not fits(value):
                raise ValueError(f"{owner}.{name}={value!r} {rule}.")


def weighted_bce(logits: torch.Tensor, targets: torch.Tensor, positive_weight: float | torch.Tensor) -> torch.Tensor:
    """Element-wise binary cross-entropy of `logits` against 0/1 `targets` (in float32), positives weighing
    `positive_weight` (a number, or a tensor that broadcasts against the last axis), negatives 1."""
    if isinstance(positive_weight, torch.Tensor):
        pos_weight = positive_weight.to(device=logits.device, dtype=torch.float)
    else:
        pos_weight = None if positive_weight == 1.0 else logits.new_tensor(positive_weight, dtype=torch.float)
    return F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="none", pos_weight=pos_weight)


def shifted_windows(values: torch.Tensor, size: int, dim: int = 1) -> torch.Tensor:
    """`out[..., i, k, ...] = values[..., i + k, ...]` along `dim` (zero past the end); a new axis after `dim`.

    Example:
        >>> shifted_windows(torch.tensor([1, 2, 3]), 2, dim=0).tolist()
        [[1, 2], [2, 3], [3, 0]]
    """
    padding = [0, 0] * (values.dim() - dim - 1) + [0, size - 1]
    padded = F.pad(values, padding)
    return padded.unfold(dim, size, 1).movedim(-1, dim + 1)


def both_ends(start: torch.Tensor, end: torch.Tensor, max_span_length: int) -> torch.Tensor:
    """Spans whose two ends both hold: `out[b, i, k, ...] = start[b, i, ...] & end[b, i + k, ...]` for boolean
    `start` and `end` `[batch, context, ...]` (start and end positions, e.g. predicted or gold per type); the spans
    of the heads' `[batch, context, max_span_length, ...]` layout (spans past the context's end are False).

    Example:
        >>> both_ends(torch.tensor([[True, False, True]]), torch.tensor([[False, True, True]]), 2).tolist()
        [[[False, True], [False, False], [True, False]]]
    """
    return start[:, :, None] & shifted_windows(end, max_span_length, dim=1)


def span_targets(
    rows: torch.Tensor,
    first: torch.Tensor,
    last: torch.Tensor,
    types: torch.Tensor,
    shape: torch.Size,
    max_span_length: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dense 0/1 targets of gold entities (`rows`, `first` and `last` position, `types`; one value per entity):
    start and end of `shape` `[batch, context, types]`, span `[batch, context, max_span_length, types]` (`[b, i, k,
    t]` the span i..i+k). An entity longer than `max_span_length` is a start and an end target only."""
    start = torch.zeros(shape, device=rows.device)
    end = torch.zeros_like(start)
    span = start.new_zeros(shape[0], shape[1], max_span_length, shape[2])
    start[rows, first, types] = 1.0
    end[rows, last, types] = 1.0
    inside = last - first < max_span_length
    span[rows[inside], first[inside], (last - first)[inside], types[inside]] = 1.0
    return start, end, span


def span_candidates(
    start: torch.Tensor,
    end: torch.Tensor,
    span_mask: torch.Tensor,
    targets: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The spans of `span_mask` `[batch, context, max_span]` whose two ends are both in `start` and `end` (`[batch,
    context, types]` bools: predicted), or with `targets` (`span_targets`) both gold: `[batch, context, max_span,
    types]`. The spans a start/end/span loss reads in training, or a threshold's decision can choose."""
    chosen = both_ends(start, end, span_mask.shape[2])
    if targets is not None:
        chosen = chosen | both_ends(targets[0].bool(), targets[1].bool(), span_mask.shape[2])
    return chosen & span_mask[..., None]


# Logit given to positions and spans that cannot be entity boundaries; sigmoid of it is 0 in every float type.
MASKED_LOGIT = -1.0e4


class SpanHeads(nn.Module):
    """Start, end and span-match heads for several entity types at once, as weights with a leading type axis
    (Multi-NER's heads over each type's states; the joint family's `start_end_span` head over its NER word states).

    The span-match MLP scores span (i, j) as `w · act(A h_i + B h_j + b)`; splitting the first layer means no
    [seq, seq, 2·hidden] tensor is built, and only spans with `j - i < max_span_length` are scored, so memory grows
    linearly with the context length. With `interior` the first layer also gets `C · mean(h_i..h_j)`
    (from prefix sums) and a width embedding `W[j - i]`, and the logit loses `max(g · h_m + c)` over the span's tokens
    m: one token that cannot lie inside an entity vetoes every span across it. With `shared_boundary` every set's
    start and end weights get one shared pair added (starting at zero), which learns from every set's examples.
    """

    def __init__(
        self,
        head_sets: int,
        hidden_size: int,
        span_hidden_size: int,
        max_span_length: int,
        interior: bool = True,
        dropout: float = 0.1,
        shared_boundary: bool = False,
    ):
        super().__init__()
        hidden, span_hidden = hidden_size, span_hidden_size
        self.max_span_length = max_span_length
        self.boundary_weight = nn.Parameter(torch.empty(head_sets, 2, hidden))  # start and end
        self.boundary_bias = nn.Parameter(torch.empty(head_sets, 2))
        # A start and end direction every head set adds to its own: learnt from every set's examples.
        self.shared_boundary_weight = nn.Parameter(torch.empty(2, hidden)) if shared_boundary else None
        self.span_start_weight = nn.Parameter(torch.empty(head_sets, hidden, span_hidden))
        self.span_end_weight = nn.Parameter(torch.empty(head_sets, hidden, span_hidden))
        self.span_hidden_bias = nn.Parameter(torch.empty(head_sets, span_hidden))
        self.span_output_weight = nn.Parameter(torch.empty(head_sets, span_hidden))
        self.span_output_bias = nn.Parameter(torch.empty(head_sets))
        self.interior = interior
        if self.interior:
            # What lies between the ends: the mean of the span's tokens, its width, and a veto from its most
            # boundary-like token (a sentence end, the gap between two entities).
            self.span_interior_weight = nn.Parameter(torch.empty(head_sets, hidden, span_hidden))
            self.span_width_embedding = nn.Parameter(torch.empty(head_sets, max_span_length, span_hidden))
            self.span_break_weight = nn.Parameter(torch.empty(head_sets, hidden))
            self.span_break_bias = nn.Parameter(torch.empty(head_sets))
        self.activation = ACT2FN["gelu"]
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def _of(weight: torch.Tensor, head_index: torch.Tensor | None) -> torch.Tensor:
        """Each type's head set: `weight[head_index]`, or `weight` itself for `head_index=None` (type t uses set t).
        Indexing copies every set's weights, on every forward pass (a tenth of Multi-NER's batch-1 prediction time on
        WNUT-16's ten types), so callers pass None when every set is used in order."""
        return weight if head_index is None else weight[head_index]

    @torch.no_grad()
    def initialize(self, std: float) -> None:
        """The heads' start (called by a family's `_init_weights`): weights around 0 with `std`, biases 0, and the
        interior veto almost silent (softplus(-4) ~ 0.018), learnt where it helps."""
        for weight in (self.boundary_weight, self.span_start_weight, self.span_end_weight, self.span_output_weight):
            init.normal_(weight, mean=0.0, std=std)
        for bias in (self.boundary_bias, self.span_hidden_bias, self.span_output_bias):
            init.zeros_(bias)
        if self.shared_boundary_weight is not None:
            init.zeros_(self.shared_boundary_weight)  # the heads without it, until it learns
        if self.interior:
            for weight in (self.span_interior_weight, self.span_width_embedding, self.span_break_weight):
                init.normal_(weight, mean=0.0, std=std)
            init.constant_(self.span_break_bias, -4.0)

    def boundaries(
        self, hidden: torch.Tensor, head_index: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """hidden: [batch, types, context, hidden]; head_index: [types], the head set of each type (None: type t
        uses set t, every set in order).

        Returns start and end logits [batch, context, types]."""
        weight = self._of(self.boundary_weight, head_index)
        if self.shared_boundary_weight is not None:
            weight = weight + self.shared_boundary_weight
        boundary = torch.einsum("btch,tkh->bctk", hidden, weight)
        boundary = boundary + self._of(self.boundary_bias, head_index)
        return boundary[..., 0], boundary[..., 1]

    def spans(
        self, hidden: torch.Tensor, head_index: torch.Tensor | None = None, candidates: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Span logits [batch, context, max_span, types]. With `candidates` ([batch, context, max_span, types],
        bool) only those spans are scored and the rest hold `MASKED_LOGIT`: the span MLP is the largest tensor of
        the model, and training (span candidates "pred_and_gold") and thresholded decoding need few spans."""
        batch, types, context, _ = hidden.shape
        # Spans cannot be longer than the context: score only those offsets, pad the rest (masked by the caller).
        span_size = min(self.max_span_length, context)
        if self.interior:
            breaks = torch.einsum("btch,th->btc", hidden, self._of(self.span_break_weight, head_index))
            breaks = breaks + self._of(self.span_break_bias, head_index)[None, :, None]
            # [batch, types, context, span_size]: the highest break score among tokens i..i+k
            veto = shifted_windows(breaks, span_size, dim=2).cummax(dim=3).values
        if candidates is None:
            span = self._dense_scores(hidden, head_index, span_size)
            if self.interior:
                span = span - F.softplus(veto)
            span = span.permute(0, 2, 3, 1)  # [batch, context, span_size, types]
            return F.pad(span, (0, 0, 0, self.max_span_length - span_size), value=MASKED_LOGIT)
        # grouped by type (the type axis first), so that each type's spans meet its own weights in one product
        type_pos, rows, first, width = candidates.permute(3, 0, 1, 2).nonzero(as_tuple=True)
        count = rows.shape[0]
        # In inference, padded (with copies of the last candidate, dropped below) to a power of two: tensor sizes
        # that vary from batch to batch fragment the C heap until memory grows with every forward pass of a long
        # text. (Training keeps the exact count, so that dropout draws what it always drew.)
        padding = (1 << max(count - 1, 0).bit_length()) - count if count and not self.training else 0
        if padding:
            rows, first, width, type_pos = (
                F.pad(index, (0, padding), value=index[-1]) for index in (rows, first, width, type_pos)
            )
        scores = self._sparse_scores(hidden, head_index, rows, first, width, type_pos)
        if self.interior:
            scores = scores - F.softplus(veto[rows, type_pos, first, width])
        rows, first, width, type_pos, scores = (
            rows[:count],
            first[:count],
            width[:count],
            type_pos[:count],
            scores[:count],
        )
        span = scores.new_full((batch, context, self.max_span_length, types), MASKED_LOGIT)
        return span.index_put((rows, first, width, type_pos), scores)

    def _dense_scores(self, hidden: torch.Tensor, head_index: torch.Tensor | None, span_size: int) -> torch.Tensor:
        """Every span up to `span_size` tokens: [batch, types, context, span_size], before the veto."""
        span_start = torch.einsum("btch,thd->btcd", hidden, self._of(self.span_start_weight, head_index))
        span_end = torch.einsum("btch,thd->btcd", hidden, self._of(self.span_end_weight, head_index))
        span_end = shifted_windows(span_end, span_size, dim=2)  # [batch, types, context, span_size, d]
        span_hidden = (
            span_start.unsqueeze(3) + span_end + self._of(self.span_hidden_bias, head_index)[:, None, None, :]
        )
        if self.interior:
            interior = torch.einsum("btch,thd->btcd", hidden, self._of(self.span_interior_weight, head_index))
            prefix = F.pad(interior.cumsum(dim=2), (0, 0, 1, 0))  # [batch, types, context + 1, d]
            # spans past the context's end get meaningless sums here; they are masked by the caller
            sums = shifted_windows(prefix[:, :, 1:], span_size, dim=2) - prefix[:, :, :-1, None]
            widths = torch.arange(1, span_size + 1, device=hidden.device, dtype=hidden.dtype)
            width_embedding = self._of(self.span_width_embedding, head_index)[:, :span_size]  # [types, span_size, d]
            span_hidden = span_hidden + sums / widths[:, None] + width_embedding[None, :, None]
        span_hidden = self.dropout(self.activation(span_hidden))
        output_weight, output_bias = (
            self._of(self.span_output_weight, head_index),
            self._of(self.span_output_bias, head_index),
        )
        return torch.einsum("btckd,td->btck", span_hidden, output_weight) + output_bias[:, None, None]

    def _sparse_scores(
        self,
        hidden: torch.Tensor,
        head_index: torch.Tensor | None,
        rows: torch.Tensor,
        first: torch.Tensor,
        width: torch.Tensor,
        type_pos: torch.Tensor,
    ) -> torch.Tensor:
        """The spans (rows, first, first + width) of types `type_pos` (sorted), before the veto: [spans]. Only the
        spans' own tokens are projected (a few rows of the [types, context] grid), not every token for every type."""
        last = first + width
        features = [hidden[rows, type_pos, first], hidden[rows, type_pos, last]]
        weights = [self._of(self.span_start_weight, head_index), self._of(self.span_end_weight, head_index)]
        if self.interior:
            # the mean of the span's tokens, projected once (the projection is linear); prefix sums in float32, so
            # that a half-precision model does not lose a short span's sum to the rounding of a long prefix
            prefix = F.pad(hidden.float().cumsum(dim=2), (0, 0, 1, 0))  # [batch, types, context + 1, hidden]
            sums = prefix[rows, type_pos, last + 1] - prefix[rows, type_pos, first]
            features.append((sums / (width + 1)[:, None]).to(hidden.dtype))
            weights.append(self._of(self.span_interior_weight, head_index))
        sizes = torch.bincount(type_pos, minlength=hidden.shape[1]).tolist()
        pieces = zip(*(feature.split(sizes) for feature in features))
        # types without candidates are skipped (one text at a time, most have none); no candidates at all: [0, d]
        products = [sum(x @ w[t] for x, w in zip(piece, weights)) for t, piece in enumerate(pieces) if sizes[t]]
        span_hidden = torch.cat(products) if products else hidden.new_zeros(0, self.span_hidden_bias.shape[-1])
        span_hidden = span_hidden + self._of(self.span_hidden_bias, head_index)[type_pos]
        if self.interior:
            span_hidden = span_hidden + self._of(self.span_width_embedding, head_index)[type_pos, width]
        span_hidden = self.dropout(self.activation(span_hidden))
        output_weight, output_bias = (
            self._of(self.span_output_weight, head_index),
            self._of(self.span_output_bias, head_index),
        )
        return (span_hidden * output_weight[type_pos]).sum(-1) + output_bias[type_pos]


def bidirectional_rnn(rnn: nn.LSTM | nn.GRU, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """A one-layer, bidirectional, batch-first `rnn` over left-aligned rows `[batch, steps, input]` of `lengths`
    `[batch]` -> `[batch, steps, 2 · hidden]` (forward then backward states), zeros past each row's end: what a packed
    sequence gives, computed on the padded rows. The forward direction reads each row as it is (its padding comes
    after it), the backward direction reads it reversed within its length. A packed sequence keeps PyTorch's CPU
    RNNs off their fused (oneDNN) kernel; this form takes it, in both directions and in the backward pass: about 3x
    faster per layer in training on CPU, 1.1-1.6x at inference (BENCHMARKS.md "joint_speed").

    Example:
        >>> rnn = nn.LSTM(3, 2, batch_first=True, bidirectional=True)
        >>> inputs, lengths = torch.randn(2, 4, 3), torch.tensor([4, 2])
        >>> packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths, batch_first=True)
        >>> expected = nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], batch_first=True)[0]
        >>> torch.allclose(bidirectional_rnn(rnn, inputs, lengths), expected, atol=1e-6)
        True
    """
    if rnn.num_layers != 1 or not rnn.bidirectional or not rnn.batch_first:
        raise ValueError("bidirectional_rnn runs one bidirectional, batch_first layer.")
    batch, steps, _ = inputs.shape
    position = torch.arange(steps, device=inputs.device)
    lengths = lengths.to(inputs.device)[:, None]
    real = position < lengths  # [batch, steps]
    # step t of a row reads step length - 1 - t; padding stays in place (the permutation is its own inverse)
    reverse = torch.where(real, lengths - 1 - position, position)
    zeros = inputs.new_zeros(1, batch, rnn.hidden_size)
    run, start = (torch.lstm, (zeros, zeros)) if isinstance(rnn, nn.LSTM) else (torch.gru, zeros)
    forward_weights, backward_weights = rnn.all_weights

    def direction(rows: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
        return run(rows, start, weights, rnn.bias, 1, 0.0, rnn.training, False, True)[0]

    def reversed_rows(rows: torch.Tensor) -> torch.Tensor:
        return rows.gather(1, reverse[:, :, None].expand(-1, -1, rows.shape[-1]))

    backward = reversed_rows(direction(reversed_rows(inputs), backward_weights))
    return torch.cat([direction(inputs, forward_weights), backward], dim=-1) * real[:, :, None]


class CharBiRnn(nn.Module):
    """seeds/003's character-level word embedding: each word's characters (`word_features.word_chars` ids)
    embedded and read by one BiLSTM; the word is the last states of both directions. Joint ER reads it per word,
    Multi-NER per context token (the characters of the token's whole word)."""

    def __init__(self, embedding_size: int, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(CHAR_VOCABULARY, embedding_size, padding_idx=0)
        self.rnn = nn.LSTM(embedding_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_size = 2 * hidden_size

    def forward(self, char_ids: torch.Tensor, words: int) -> torch.Tensor:
        """`[batch, words', characters]` (0 pads) -> `[batch, words, output_size]`, zeros for words without
        characters; `words'` is padded or cut to `words`."""
        char_ids = F.pad(char_ids, (0, 0, 0, max(0, words - char_ids.shape[1])))[:, :words]
        batch, _, chars = char_ids.shape
        flat = char_ids.reshape(batch * words, chars)
        lengths = (flat > 0).sum(dim=1)
        states = flat.new_zeros(batch * words, self.output_size, dtype=self.embedding.weight.dtype)
        real = lengths > 0
        if real.any():
            lengths = lengths[real]
            outputs = bidirectional_rnn(self.rnn, self.embedding(flat[real]), lengths)
            hidden = self.rnn.hidden_size
            # the forward direction's state after the last character, the backward one's after the first
            last = outputs[torch.arange(lengths.shape[0], device=lengths.device), lengths - 1, :hidden]
            states[real] = torch.cat([last, outputs[:, 0, hidden:]], dim=-1)
        return states.view(batch, words, self.output_size)


def masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, positive_weight: float | torch.Tensor = 1.0
) -> torch.Tensor:
    """Mean binary cross-entropy over the positions where `mask` is true (0 with a gradient when there are none);
    positive targets weigh `positive_weight` (per type: a tensor over the last axis), negatives 1."""
    losses = weighted_bce(logits, targets, positive_weight)
    mask = mask.float()
    return (losses * mask).sum() / mask.sum().clamp(min=1.0)


__all__ = [
    "CharBiRnn",
    "bidirectional_rnn",
    "LABEL_PAD",
    "both_ends",
    "MASKED_LOGIT",
    "SpanHeads",
    "masked_bce",
    "check_input_signature",
    "check_switch_input",
    "ChecksLoading",
    "check_extra_fields",
    "check_field_values",
    "checked_names",
    "is_saved_config",
    "shifted_windows",
    "span_candidates",
    "span_targets",
    "signature_digest",
    "weighted_bce",
]
