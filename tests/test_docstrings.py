"""The examples in the public docstrings run and show what they say (those needing a trained model are +SKIP)."""

import doctest
import importlib

import pytest

MODULES = [
    "configuration_joint_er",
    "configuration_multiner",
    "configuration_seq2seq",
    "data_collator_seq2seq",
    "data_collator_joint_er",
    "decoding",
    "evaluation",
    "modeling_core",
    "modeling_joint_er",
    "processing_multiner",
    "readers",
    "targets_seq2seq",
    "text_core",
    "training_joint_er",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"multiner.{name}")
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0 and attempted > 0
