"""Family-neutral processor machinery of the three families: a fast tokenizer and the model's config, windows of
`max_length` tokens, labelled rows for `dataset.map`, loading beside a model, and batches of windows.

A family's processor subclasses `WindowedProcessor` and names its config class, collator and the dataclasses its
inputs travel in; it adds its own labels (`_example_rows`), features (`_features`) and decoding (`window_results`,
then `results`). Multi-NER also puts its queries into every window (`_set_up`, `_context_capacity`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import AutoTokenizer, ProcessorMixin

from .modeling_core import LABEL_PAD
from .text_core import (
    Context,
    Window,
    count_stored_unrepresentable,
    example_numbers,
    is_single_example,
    naming_dataset_rows,
    read_inputs,
    report_unrepresentable,
    sources_of,
    tokenize_context,
)
from .word_features import token_casing

PROCESSOR_CONFIG_NAME = "processor_config.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")
# The column of preprocessed rows that carries each example's counts of what could not be represented.
UNREPRESENTABLE_COLUMN = "unrepresentable"


@dataclass
class WindowedTexts:
    """Inputs tokenized once and cut into windows: one `Context` per input (None for an empty input, when allowed)
    and the windows of all of them, in order."""

    contexts: list[Context | None]
    windows: list[Window]


class WindowedBatch(dict):
    """Model inputs (the dict itself: `model(**batch)`) plus the `windows` of these rows and all `contexts`."""

    def __init__(self, inputs: Mapping[str, Any], windows: list[Window], contexts: list[Context | None]):
        super().__init__(inputs)
        self.windows = windows
        self.contexts = contexts

    def to(self, device) -> WindowedBatch:
        moved = {name: value.to(device) if hasattr(value, "to") else value for name, value in self.items()}
        return type(self)(moved, self.windows, self.contexts)


@dataclass
class PaddingCollator:
    """Base of the three families' collators (the `data_collator` of a stock `Trainer`): pure, it knows a pad id
    (and what its family adds), nothing of the processor. A family implements `_padded` (numpy arrays by name)."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.return_tensors != "pt":
            raise ValueError(f"{name} returns PyTorch tensors only, got return_tensors={self.return_tensors!r}.")
        if not isinstance(self.pad_token_id, int) or isinstance(self.pad_token_id, bool):
            raise ValueError(
                f"{name} pad_token_id={self.pad_token_id!r} must be an integer: the tokenizer needs a padding token "
                "(tokenizer.pad_token_id)."
            )

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any):
        """The collator for a processor's features (its tokenizer's pad id)."""
        return cls(processor.tokenizer.pad_token_id, **kwargs)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError(f"{type(self).__name__} got an empty list of features.")
        padded = self._padded(features)
        if "input_signature" in features[0]:
            padded["input_signature"] = np.array([feature["input_signature"] for feature in features], dtype=np.int64)
        return {name: torch.from_numpy(values) for name, values in padded.items()}

    def _padded(self, features: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _length(self, sequences: Sequence[Sequence[int]]) -> int:
        """The longest of `sequences`, rounded up to `pad_to_multiple_of`."""
        length = max(len(sequence) for sequence in sequences)
        return -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of if self.pad_to_multiple_of else length


def pad_sequences(
    sequences: Sequence[Sequence[int]], value: int = 0, length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences padded with `value` to `length` (default: the longest, at least 1), and the 0/1 mask of real
    positions."""
    length = length if length is not None else max(1, max(len(sequence) for sequence in sequences))
    values = np.full((len(sequences), length), value, dtype=np.int64)
    mask = np.zeros((len(sequences), length), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        values[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return values, mask


def pad_words(rows: Sequence[Sequence[Sequence[int]]]) -> np.ndarray:
    """Rows of words of character ids padded with 0 into `[rows, most words, most characters]` (at least 1 each)."""
    words = max(1, max(len(row) for row in rows))
    chars = max([1] + [len(word) for row in rows for word in row])
    padded = np.zeros((len(rows), words, chars), dtype=np.int64)
    for row, word_chars in enumerate(rows):
        for word, ids in enumerate(word_chars):
            padded[row, word, : len(ids)] = ids
    return padded


def pad_triples(rows: Sequence[Sequence[Sequence[int]]]) -> np.ndarray:
    """Per row, a list of integer triples (gold entities, relations), padded with `LABEL_PAD` to `[rows, most, 3]`."""
    width = max(1, max(len(triples) for triples in rows))
    padded = np.full((len(rows), width, 3), LABEL_PAD, dtype=np.int64)
    for row, triples in enumerate(rows):
        if len(triples):
            padded[row, : len(triples)] = triples
    return padded


class ModelConfigProcessor(ProcessorMixin):
    """A processor that reads its label settings from its model's config (`config_class`, kept as `model_config`)
    and loads beside its model: `from_model(model)` or `from_pretrained(model folder)`. Every family's processor is
    one."""

    tokenizer_class = "AutoTokenizer"
    config_class: ClassVar[type]
    # what the processor reads from the model's config, for the error that asks for it
    owned_settings: ClassVar[str] = "the entity types"
    _model_config: Any

    def _check_arguments(self, tokenizer, model_config, max_length: int, stride: int) -> None:
        """The checks every family's processor makes of its constructor's arguments, with errors that name the
        processor and what to do."""
        name = type(self).__name__
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(
                f"{name} needs a fast tokenizer for character offsets, got {type(tokenizer).__name__}; load it with "
                "AutoTokenizer.from_pretrained(..., use_fast=True)."
            )
        if type(model_config).__name__ != self.config_class.__name__:
            raise ValueError(
                f"{name} reads {self.owned_settings} from the model's config: build it with {name}.from_model(model) "
                f"or {name}.from_pretrained(model folder), or pass model_config=model.config (got "
                f"{type(model_config).__name__})."
            )
        rows = getattr(getattr(model_config, "encoder_config", None), "vocab_size", None)
        if isinstance(rows, int) and len(tokenizer) > rows:
            raise ValueError(
                f"{name}: the tokenizer (tokenizer.json) has {len(tokenizer)} tokens but the model's encoder embeds "
                f"{rows} (config.json: encoder_config.vocab_size); its ids past {rows - 1} would index no embedding. "
                "Use the tokenizer saved with the model (or its encoder's), not another model's."
            )
        if not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"{name} max_length={max_length!r} must be a positive integer.")
        if not isinstance(stride, int) or stride < 0:
            raise ValueError(f"{name} stride={stride!r} must be a non-negative integer.")

    @property
    def model_config(self):
        return self._model_config

    @property
    def entity_types(self) -> list[str]:
        return list(self._model_config.entity_types)

    @classmethod
    def from_model(cls, model, tokenizer=None, **kwargs):
        """A processor for a model (or its config), around `tokenizer` or its backbone's (`config.encoder_name`)."""
        config = getattr(model, "config", model)
        if tokenizer is None:
            if not getattr(config, "encoder_name", None):
                raise ValueError(
                    "The model's config does not say which encoder it was built from (encoder_name); pass the "
                    f"tokenizer: {cls.__name__}.from_model(model, tokenizer=AutoTokenizer.from_pretrained(...))."
                )
            tokenizer = AutoTokenizer.from_pretrained(config.encoder_name)
        return cls(tokenizer, model_config=config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, model_config=None, **kwargs):
        """Load a processor saved beside its model; the label settings come from the folder's `config.json`."""
        folder = Path(pretrained_model_name_or_path)
        if folder.is_dir():
            missing = [name for name in (PROCESSOR_CONFIG_NAME, "config.json") if not (folder / name).is_file()]
            if not any((folder / name).is_file() for name in TOKENIZER_FILES):
                missing.append(" or ".join(TOKENIZER_FILES))
            if model_config is not None and "config.json" in missing:
                missing.remove("config.json")
            if missing:
                raise FileNotFoundError(
                    f"{folder} is not a complete model folder for {cls.__name__}: missing {', '.join(missing)}. Save "
                    "the model and its processor together (or use Trainer.save_model / pipeline.save_pretrained)."
                )
        hub_kwargs = {name: kwargs.pop(name) for name in HUB_KWARGS if name in kwargs}
        if model_config is None:
            model_config = cls.config_class.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        trust = {"trust_remote_code": kwargs.pop("trust_remote_code")} if "trust_remote_code" in kwargs else {}
        tokenizer = AutoTokenizer.from_pretrained(pretrained_model_name_or_path, **hub_kwargs, **trust)
        processor_dict, settings = cls.get_processor_dict(pretrained_model_name_or_path, **hub_kwargs)
        return cls.from_args_and_dict([tokenizer], processor_dict, model_config=model_config, **settings, **kwargs)


class WindowedProcessor(ModelConfigProcessor):
    """A fast tokenizer, the model's config (the owner of every label setting) and the window (`max_length` tokens,
    special tokens included; `stride` tokens shared by consecutive windows), saved in `processor_config.json`."""

    # set by each family
    collator_class: ClassVar[type]
    texts_class: ClassVar[type] = WindowedTexts
    batch_class: ClassVar[type] = WindowedBatch
    # why gold items can be left out of the labels (counter key -> explanation), what they are called in warnings,
    # and the error for a batch without entities
    reasons: ClassVar[Mapping[str, str]]
    counted: ClassVar[str] = "gold entities"
    missing_entities: ClassVar[str]

    def __init__(self, tokenizer, model_config=None, max_length: int = 256, stride: int = 64):
        super().__init__(tokenizer)
        self._check_arguments(tokenizer, model_config, max_length, stride)
        self._model_config = model_config
        self.max_length = max_length
        self.stride = stride
        self.unrepresentable: Counter = Counter()
        self._set_up()
        encoding = tokenizer("x")
        content = [position for position, sequence in enumerate(encoding.sequence_ids()) if sequence == 0]
        self._head_ids = encoding["input_ids"][: content[0]]
        self._tail_ids = encoding["input_ids"][content[-1] + 1 :]
        self._window_size = self._context_capacity()
        self._input_signature = model_config.input_signature()

    def _set_up(self) -> None:
        """A family's own checks and settings, after the common ones and before the window is sized."""

    def _context_capacity(self) -> int:
        """Tokens of the input per window: `max_length` less what else each window holds (the special tokens)."""
        capacity = self.max_length - len(self._head_ids) - len(self._tail_ids)
        if capacity <= self.stride:
            raise ValueError(
                f"max_length={self.max_length} leaves {capacity} tokens per window after the special tokens, "
                f"not more than stride={self.stride}; raise max_length or lower stride."
            )
        return capacity

    def preprocess(self, examples: Mapping[str, Any], indices: int | Sequence[int] | None = None) -> dict[str, list]:
        """Model features with labels, one row per window, for `datasets.Dataset.map(..., batched=True)`.

        Gold items the model cannot hold are counted per reason (see `reasons`), with a warning, and stored in each
        example's first row (`count_unrepresentable`). Errors name an example by its position in the call, or by
        `indices` (`dataset.map(..., with_indices=True)` passes the dataset's row numbers).

        Example:
            >>> columns = data.column_names  # doctest: +SKIP
            >>> train = data.map(processor.preprocess, batched=True, remove_columns=columns)  # doctest: +SKIP
        """
        with naming_dataset_rows(indices):
            return self._preprocess(examples, indices)

    def _preprocess(self, examples: Mapping[str, Any], indices: int | Sequence[int] | None) -> dict[str, list]:
        single = is_single_example(examples)
        batch = {name: [value] for name, value in examples.items()} if single else examples
        if "entities" not in batch:
            raise ValueError(self.missing_entities)
        numbers = example_numbers(len(batch["entities"]), indices)
        sources = sources_of(batch, numbers)
        rows: dict[str, list] = {}
        skipped: Counter = Counter()
        for position, (number, source) in enumerate(zip(numbers, sources)):
            example = {name: values[position] for name, values in batch.items()}
            example_skipped: Counter = Counter()
            context = tokenize_context(self.tokenizer, source, number)
            example_rows = self._example_rows(context, example, number, example_skipped)
            # the example's counts ride on its first row, so they survive map(num_proc=N) and caching
            for row_number, row in enumerate(example_rows):
                counts = [example_skipped[reason] if row_number == 0 else 0 for reason in self.reasons]
                row[UNREPRESENTABLE_COLUMN] = counts
                for name, value in row.items():
                    rows.setdefault(name, []).append(value)
            skipped.update(example_skipped)
        if single and len(rows["input_ids"]) != 1:
            raise ValueError(
                f"The example needs {len(rows['input_ids'])} windows of max_length={self.max_length} tokens; "
                "call dataset.map(processor.preprocess, batched=True) so one example can give several rows."
            )
        report_unrepresentable(skipped, self.unrepresentable, self.reasons, self.counted)
        return {name: values[0] for name, values in rows.items()} if single else rows

    @classmethod
    def count_unrepresentable(cls, rows) -> Counter:
        """Gold items left out of the labels of preprocessed `rows` (a `Dataset` or a dict of columns), per reason
        (see `reasons`); exact under `map(num_proc=N)` and from the map cache."""
        return count_stored_unrepresentable(rows, UNREPRESENTABLE_COLUMN, cls.reasons)

    def _example_rows(self, context: Context, example: dict, index: int, skipped: Counter) -> list[dict]:
        """One example's rows (features and labels per window), counting in `skipped` what they leave out."""
        raise NotImplementedError

    def __call__(self, text=None, tokens=None, return_tensors: str = "pt"):
        """Inference inputs for texts (or word lists): all their windows in one batch (see `tokenize` + `batches` to
        bound the windows per model call, as the pipeline does)."""
        texts = self.tokenize(text=text, tokens=tokens)
        return next(self.batches(texts, windows_per_batch=None, return_tensors=return_tensors))

    def tokenize(self, text=None, tokens=None, indices=None, allow_empty: bool = False):
        """Tokenize inputs once and cut them into windows. `indices` name the inputs in error messages;
        `allow_empty` gives empty or unreadable inputs no windows (they decode to nothing) instead of raising."""
        contexts, windows = read_inputs(
            self.tokenizer, text, tokens, indices, allow_empty, self._window_size, self.stride
        )
        return self.texts_class(contexts, windows)

    def batches(self, texts, windows_per_batch: int | None = None, return_tensors: str = "pt") -> Iterator:
        """Model inputs for the windows of `texts`, at most `windows_per_batch` per batch (all at once by default).
        Features are built batch by batch, so a long text never holds more than one batch of them.

        Example:
            >>> texts = processor.tokenize(text=[long_article])  # doctest: +SKIP
            >>> found = [processor.window_results(model(**b), b) for b in processor.batches(texts)]  # doctest: +SKIP
            >>> processor.results(texts, [item for part in found for item in part])  # doctest: +SKIP
        """
        if windows_per_batch is not None and (not isinstance(windows_per_batch, int) or windows_per_batch < 1):
            raise ValueError(f"windows_per_batch={windows_per_batch!r} must be a positive integer.")
        if not texts.windows:
            raise ValueError("There is nothing to run: every input is empty.")
        size = windows_per_batch or len(texts.windows)
        collator = self._collator(return_tensors)
        for begin in range(0, len(texts.windows), size):
            windows = texts.windows[begin : begin + size]
            inputs = collator([self._window_features(texts, window) for window in windows])
            yield self._batch(texts, inputs, windows)

    def _collator(self, return_tensors: str):
        return self.collator_class(self.tokenizer.pad_token_id, return_tensors=return_tensors)

    def _window_features(self, texts, window: Window) -> dict[str, Any]:
        """A window's inference features (no labels)."""
        return self._features(texts.contexts[window.example], window)

    def _batch(self, texts, inputs: Mapping[str, Any], windows: list[Window]):
        return self.batch_class(inputs, windows, texts.contexts)

    def _casing_features(self, context: Context, window: Window, head: int = 0, tail: int = 0) -> dict[str, list]:
        """`casing_ids` of the window's tokens (padded with class 0 for `head` and `tail` special tokens) when the
        model's config has `casing_features` on; nothing otherwise."""
        if not getattr(self.model_config, "casing_features", False):
            return {}
        return {"casing_ids": [0] * head + token_casing(context, window.start, window.stop) + [0] * tail}

    def _features(self, context: Context, window: Window) -> dict[str, Any]:
        raise NotImplementedError


__all__ = [
    "ModelConfigProcessor",
    "PaddingCollator",
    "HUB_KWARGS",
    "PROCESSOR_CONFIG_NAME",
    "UNREPRESENTABLE_COLUMN",
    "WindowedBatch",
    "WindowedProcessor",
    "WindowedTexts",
    "pad_sequences",
    "pad_triples",
    "pad_words",
]
