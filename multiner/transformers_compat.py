"""The transformers interfaces multiner depends on that change between the releases it supports, in one place.

Supported and tested: transformers `TESTED_TRANSFORMERS`, from 5.23.0 (the first with
`PreTrainedModel.is_activation_checkpointing`; 5.20 added `configuration_utils.SubConfigSpec`) to 5.24.0 (the newest
release when this was written); setup.cfg names the same lowest one and `.ci/run` installs it. What differs inside
that range, and how each item here reads it from the installed release instead of assuming a name:

- **The cache keyword of a model's forward.** `past_key_values` up to 5.23; `cache` from 5.24 (the old name still
  accepted, with a FutureWarning, until 5.40). Before 5.24 a `cache=` argument is swallowed by `**kwargs` and the
  cache silently stays empty, so the name matters. `cache_keyword(module)` is the forward parameter annotated with a
  `Cache`; `call_with_cache` passes the cache by it and checks that the module really filled it.
- **The keyword `generate()` hands the cache to a model by**, and **the cache field of model outputs** (an output
  class that declares its own `past_key_values` field fails on creation from 5.24): `GENERATE_CACHE_KEYWORD` (the
  `Cache` parameter of `GenerationMixin.prepare_inputs_for_generation`) and `CACHE_FIELD` (the `Cache` field of
  transformers' `Seq2SeqLMOutput`).

A release that renames these again fails here, in `tests/test_transformers_compat.py`, with the interface named.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import transformers
from torch import nn
from transformers import Cache, GenerationMixin
from transformers.modeling_outputs import Seq2SeqLMOutput

# The lowest and the newest transformers release CI tests (`.ci/run`); setup.cfg's range starts at the first.
TESTED_TRANSFORMERS = ("5.23.0", "5.24.0")
SUPPORTED = (
    f"multiner is tested with transformers {TESTED_TRANSFORMERS[0]} to {TESTED_TRANSFORMERS[1]}; install one of those "
    f"(pip install 'transformers>={TESTED_TRANSFORMERS[0]},<={TESTED_TRANSFORMERS[1]}') or a newer multiner"
)


def is_cache_annotation(annotation: Any) -> bool:
    """Whether a type annotation is a `Cache` (or a union holding one, e.g. `Cache | None`)."""
    if isinstance(annotation, type):
        return issubclass(annotation, Cache)
    return any(is_cache_annotation(argument) for argument in typing.get_args(annotation))


def cache_parameter(function: Callable) -> str | None:
    """The name of `function`'s parameter annotated with a `Cache`, or None when it takes none."""
    names = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if is_cache_annotation(parameter.annotation)
    ]
    return names[0] if names else None


def _cache_field(output_class: type) -> str | None:
    names = [field.name for field in dataclasses.fields(output_class) if is_cache_annotation(field.type)]
    return names[0] if names else None


def _required(name: str | None, interface: str) -> str:
    if name is None:
        raise ImportError(
            f"multiner does not know this transformers release ({transformers.__version__}): {interface} has no "
            f"argument typed `Cache`. {SUPPORTED}."
        )
    return name


GENERATE_CACHE_KEYWORD = _required(
    cache_parameter(GenerationMixin.prepare_inputs_for_generation), "GenerationMixin.prepare_inputs_for_generation"
)
CACHE_FIELD = _required(_cache_field(Seq2SeqLMOutput), "transformers.modeling_outputs.Seq2SeqLMOutput")


def cache_keyword(module: nn.Module) -> str | None:
    """The keyword `module`'s forward takes its key/value cache by (`past_key_values` or `cache`, depending on the
    transformers release), or None when it takes no cache (DistilBERT, DeBERTa)."""
    return _class_cache_keyword(type(module))


@functools.cache
def _class_cache_keyword(module_class: type) -> str | None:
    # read once per class: call_with_cache runs at every packed forward and every generation step
    return cache_parameter(module_class.forward)


def call_with_cache(module: nn.Module, cache: Cache | None, **inputs: Any):
    """`module(**inputs)`, with `cache` (unless None) passed by the keyword its forward takes; raises `ValueError`
    when the module takes no cache, and `RuntimeError` when it did not fill the cache (the keyword was accepted and
    ignored, as a release before 5.24 does with `cache=`)."""
    if cache is None:
        return module(**inputs)
    keyword = cache_keyword(module)
    if keyword is None:
        raise ValueError(f"{type(module).__name__}.forward takes no key/value cache (no argument typed `Cache`).")
    length = cache.get_seq_length()
    outputs = module(**inputs, **{keyword: cache})
    if cache.get_seq_length() == length:
        raise RuntimeError(
            f"{type(module).__name__} did not fill the cache passed as `{keyword}=` (transformers "
            f"{transformers.__version__}): its cache interface is not one multiner knows. {SUPPORTED}."
        )
    return outputs


def pop_cache(kwargs: dict[str, Any]) -> Cache | None:
    """Remove and return the cache among a forward's keyword arguments: the one `generate()` passes, or any argument
    holding a `Cache` (a caller using the other release's name); None when there is none."""
    names = [name for name, value in kwargs.items() if isinstance(value, Cache)]
    if len(names) > 1:
        raise ValueError(f"Give the cache once; got one under each of {names}.")
    return kwargs.pop(names[0] if names else GENERATE_CACHE_KEYWORD, None)


def output_cache(outputs: Any) -> Cache | None:
    """The cache a transformers model returned in its `ModelOutput` (None when it returned none)."""
    return getattr(outputs, CACHE_FIELD, None)


__all__ = [
    "CACHE_FIELD",
    "TESTED_TRANSFORMERS",
    "GENERATE_CACHE_KEYWORD",
    "cache_keyword",
    "cache_parameter",
    "call_with_cache",
    "is_cache_annotation",
    "output_cache",
    "pop_cache",
]
