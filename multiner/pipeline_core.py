"""Family-neutral pipeline machinery: option checks, running lists, datasets and generators of texts in groups
whose windows go through the model a bounded number at a time, and the base of the three families' pipelines."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import GeneratorType
from typing import Any, ClassVar

from torch.utils.data import Dataset as TorchDataset
from transformers import Pipeline

from .text_core import check_no_surrogate, checked_source, what_was_given

# Texts per group and windows per forward pass when no batch_size is given: bounds memory on texts of any length.
DEFAULT_BATCH_SIZE = 8
# The call options every family's pipeline takes (a family lists its own before them).
CORE_OPTIONS = ("is_split_into_words", "batch_size", "num_workers")


class Words(tuple):
    """One input given as its words (`is_split_into_words=True`): the processor reads it as `tokens=`, and its
    results count words, not characters."""


def unknown_option(pipeline_name: str, name: str, options: Sequence[str]) -> TypeError:
    """The TypeError for an unknown call option, with the closest known one as a suggestion."""
    close = difflib.get_close_matches(name, options, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return TypeError(f"{pipeline_name} got an unknown option {name!r}.{hint} Its options are {', '.join(options)}.")


def check_counts(options: dict) -> None:
    """`batch_size` (when given) must be a positive int, `num_workers` a non-negative one; workers are not used (the
    texts are tokenized and run in the calling process), which a positive `num_workers` is warned of."""
    for name, minimum in (("batch_size", 1), ("num_workers", 0)):
        value = options.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
        if value < minimum:
            raise ValueError(f"{name}={value!r} must be at least {minimum}.")
    if options.get("num_workers"):
        warnings.warn(
            f"num_workers={options['num_workers']} is not used: multiner's pipelines tokenize and run the texts in "
            "the calling process, batch_size texts (and windows) at a time. Leave num_workers out.",
            UserWarning,
            stacklevel=3,
        )


def check_pipeline_text(pipeline_name: str, text: Any, index: int) -> None:
    """One text of a pipeline call must be a string; else a `ValueError` naming its `index` (the processor checks
    its characters when it reads it)."""
    if not isinstance(text, str):
        raise ValueError(f"Input {index}: {pipeline_name} takes strings (or lists of them); {what_was_given(text)}.")


def check_pipeline_item(pipeline_name: str, text: Any, index: int) -> None:
    """One input of a pipeline call, checked before any work on it: a string (else a `ValueError` naming `index`)
    without lone surrogates, or a `Words` of non-empty strings (an empty one finds nothing)."""
    if isinstance(text, Words):
        if text:
            checked_source(text, index)
        return
    if isinstance(text, NotWords):
        raise ValueError(
            f"Input {index}: with is_split_into_words=True, {pipeline_name} takes lists of words (strings); "
            f"{what_was_given(text.item)}. Pass texts without is_split_into_words."
        )
    check_pipeline_text(pipeline_name, text, index)
    check_no_surrogate(text, index)


def as_words(pipeline_name: str, inputs: Any) -> Any:
    """The inputs of an `is_split_into_words=True` call as `Words`: one list of strings is one input (returned as a
    `Words`); a list or tuple of word lists, a dataset column or a generator of them, one `Words` each. A list's
    input that is not a list of words is a `ValueError` naming it; a stream's is refused when it comes
    (`check_pipeline_item`), after the inputs before it are run."""
    if isinstance(inputs, (list, tuple)):
        if inputs and isinstance(inputs[0], str):  # one input's words
            words = Words(inputs)
            check_pipeline_item(pipeline_name, words, 0)
            return words
        items = [_as_words(item) for item in inputs]
        for index, item in enumerate(items):
            check_pipeline_item(pipeline_name, item, index)
        return items
    if isinstance(inputs, str) or inputs is None or isinstance(inputs, Mapping):
        raise TypeError(
            f"With is_split_into_words=True, {pipeline_name} takes a list of words or a list of word lists; "
            f"{what_was_given(inputs)}."
        )
    return (_as_words(item) for item in inputs)


@dataclass(frozen=True)
class NotWords:
    """An input of an `is_split_into_words=True` call that is not a list of words, refused when it is checked."""

    item: Any


def _as_words(item: Any) -> Words | NotWords:
    if isinstance(item, (list, tuple)) and all(isinstance(word, str) for word in item):
        return Words(item)
    return NotWords(item)


def check_pipeline_inputs(pipeline_name: str, inputs: Any) -> None:
    """What a pipeline call takes, checked before any work: a string; a list or tuple of strings, every item checked
    before the first is run (a bad last item costs nothing); or a dataset column or generator of strings, whose items
    `preprocess` checks as they come. Anything else is a `TypeError` that says what was given and what to pass."""
    if isinstance(inputs, (str, list, tuple)):
        for index, text in enumerate([inputs] if isinstance(inputs, str) else inputs):
            check_pipeline_item(pipeline_name, text, index)  # so that a bad last text is found before any work
        return
    wrong = TypeError(
        f"{pipeline_name} takes a string, a list of strings, a dataset column (KeyDataset(dataset, 'text')) or a "
        f"generator of strings; {what_was_given(inputs)}."
    )
    if inputs is None or isinstance(inputs, (bytes, bytearray, Mapping)) or hasattr(inputs, "tolist"):
        raise wrong
    try:
        iter(inputs)  # a generator, a datasets column, a torch Dataset such as KeyDataset (none is consumed here)
    except TypeError:
        raise wrong from None


def chunks(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last one shorter)."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_grouped(
    inputs: Any,
    size: int,
    run: Callable[[list, list[int]], list],
    lengths: Callable[[list], Sequence[int]],
    check: Callable[[Any, int], None] | None = None,
) -> Iterator:
    """Results of `run(texts, indices)` over groups of `size` inputs, one result per input, in the inputs' order.

    A list is run shortest first (by `lengths(inputs)`, one per item), so that a group holds texts of similar length
    and little padding; datasets and generators stream in their own order, each item passed to `check(item, index)`
    as it comes: when it raises, the items before it are run and their results given first, then the error (nothing
    before a bad item is lost). `indices` are the texts' positions in the caller's inputs."""
    if not isinstance(inputs, (list, tuple)):
        group: list = []
        start = 0
        for index, text in enumerate(inputs):
            try:
                if check is not None:
                    check(text, index)
            except (TypeError, ValueError):
                if group:
                    yield from run(group, list(range(start, index)))
                raise
            group.append(text)
            if len(group) == size:
                yield from run(group, list(range(start, start + size)))
                group, start = [], start + size
        if group:
            yield from run(group, list(range(start, start + len(group))))
        return
    keys = list(lengths(inputs))
    order = sorted(range(len(inputs)), key=keys.__getitem__)
    results: list = [None] * len(inputs)
    for positions in chunks(order, size):
        for position, result in zip(positions, run([inputs[i] for i in positions], positions)):
            results[position] = result
    yield from results


COUNT_CHUNK = 256  # inputs whose tokens are counted in one tokenizer call, before a list is sorted


@dataclass
class Windows:
    """One model call's batch, wrapped so that `Pipeline.forward` hands it over as it is."""

    batch: Any


class WindowedPipeline(Pipeline):
    """What the three families' pipelines share: the processor saved with the model (checked against it), strings
    in, texts grouped `batch_size` at a time (a list fewest tokens first, results in its order), each group's windows
    through the model `batch_size` at a time, results merged per text by the processor (`processor.results`). A
    family adds `_sanitize_parameters` (its call options), `_forward` (one batch of windows) and `save_pretrained`;
    its preprocess options go to `processor.tokenize`, its postprocess options to `postprocess`."""

    call_options: ClassVar[tuple[str, ...]] = CORE_OPTIONS
    processor_name: ClassVar[str]  # the family's processor class (by name: a Hub folder's copy is another class)
    _load_processor = True
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def __init__(self, *args, **kwargs):
        check_counts(kwargs)
        super().__init__(*args, **kwargs)
        if self.processor is None:
            raise ValueError(
                f"{type(self).__name__} needs the processor saved with the model: pass processor=... or a model "
                "folder that holds processor_config.json."
            )
        if type(self.processor).__name__ != self.processor_name:
            raise ValueError(
                f"{type(self).__name__} runs the models that {self.processor_name} serves; this one is a "
                f"{self.model.config.model_type!r} model (its processor: {type(self.processor).__name__}). Use "
                "pipeline(model=folder), which picks the task its config.json names."
            )
        self.processor.check_model_config(self.model.config)
        self.tokenizer = self.processor.tokenizer

    def __call__(self, inputs, *args, is_split_into_words: bool = False, **kwargs):
        """The result of a text, or one per text of a list, dataset or generator. With `is_split_into_words=True`
        (as transformers' token-classification pipeline), inputs are words: a list of words is one input, a list
        (dataset, generator) of word lists several, and offsets in the results count words."""
        if args:
            raise TypeError(
                f"{type(self).__name__} takes the texts and keyword options ({', '.join(self.call_options)}); got "
                f"{len(args)} more positional argument(s)."
            )
        check_counts(kwargs)
        if not isinstance(is_split_into_words, bool):
            raise TypeError(f"is_split_into_words must be True or False, got {is_split_into_words!r}.")
        if is_split_into_words:
            inputs = as_words(type(self).__name__, inputs)
        else:
            check_pipeline_inputs(type(self).__name__, inputs)
        if kwargs.get("batch_size") is None and self._batch_size is None:
            kwargs["batch_size"] = DEFAULT_BATCH_SIZE
        if isinstance(inputs, (str, Words)):  # one input (checked above)
            return super().__call__([inputs], **kwargs)[0]
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(inputs, list) and not inputs:
            self._sanitize_parameters(**{k: v for k, v in kwargs.items() if k not in ("batch_size", "num_workers")})
            return []
        if not isinstance(inputs, (list, TorchDataset, GeneratorType)):
            inputs = (text for text in inputs)  # any other iterable (an iterator, a column) streams as a generator
        return super().__call__(inputs, **kwargs)

    def preprocess(self, texts: list[str], indices: list[int] | None = None, **tokenize_options):
        # every text was checked before it got here: a list's up front (`check_pipeline_inputs`), a stream's item by
        # item as it was taken (`run_grouped`'s check)
        if texts and isinstance(texts[0], Words):  # an is_split_into_words call: every input is a Words
            return self.processor.tokenize(
                tokens=[list(words) for words in texts], indices=indices, allow_empty=True, **tokenize_options
            )
        return self.processor.tokenize(text=texts, indices=indices, allow_empty=True, **tokenize_options)

    def postprocess(self, found: tuple) -> list:
        texts, per_window = found
        return self.processor.results(texts, per_window)

    def get_iterator(
        self, inputs, num_workers, batch_size, preprocess_params, forward_params, postprocess_params
    ) -> Iterator:
        """Groups of `batch_size` texts (a list fewest tokens first, results in its order), each group's windows
        through the model `batch_size` at a time."""
        size = batch_size or DEFAULT_BATCH_SIZE
        params = (preprocess_params, forward_params, postprocess_params)
        name = type(self).__name__
        yield from run_grouped(
            inputs,
            size,
            lambda texts, indices: self._run(texts, indices, size, *params),
            lengths=self._token_counts,
            check=lambda text, index: check_pipeline_item(name, text, index),
        )

    def _token_counts(self, inputs: list) -> list[int]:
        """Each input's tokens, what a list is sorted by: a group of texts of about as many tokens pads least (by
        characters, 19% of the tokens CoNLL04's development texts take to the model at batch 16 are padding; by
        tokens, 8%). Counted `COUNT_CHUNK` inputs at a time, keeping only the counts."""
        counts: list[int] = []
        for chunk in chunks(inputs, COUNT_CHUNK):
            words = isinstance(chunk[0], Words)  # a list is all texts or, with is_split_into_words, all words
            encoded = self.tokenizer(
                [list(item) for item in chunk] if words else chunk,
                is_split_into_words=words,
                add_special_tokens=False,
                return_attention_mask=False,
                return_token_type_ids=False,
                verbose=False,
            )
            counts += map(len, encoded["input_ids"])
        return counts

    def _run(
        self, texts: list, indices: list[int], size: int, preprocess_params, forward_params, postprocess_params
    ) -> list:
        prepared = self.preprocess(texts, indices=indices, **preprocess_params)
        per_window: list = []
        if prepared.windows:
            for batch in self.processor.batches(prepared, windows_per_batch=size):
                per_window += self.forward(Windows(batch), **forward_params)
        return self.postprocess((prepared, per_window), **postprocess_params)


__all__ = [
    "CORE_OPTIONS",
    "DEFAULT_BATCH_SIZE",
    "Words",
    "as_words",
    "Windows",
    "WindowedPipeline",
    "check_counts",
    "check_pipeline_inputs",
    "check_pipeline_item",
    "check_pipeline_text",
    "chunks",
    "run_grouped",
    "unknown_option",
]
