"""The examples in the public docstrings run and show what they say (those needing a trained model are +SKIP)."""

import doctest

import pytest

from multiner import (
    configuration_joint_er,
    configuration_multiner,
    data_collator_joint_er,
    decoding,
    evaluation,
    modeling_joint_er,
    modeling_multiner,
    processing_multiner,
    readers,
    text_core,
)


@pytest.mark.parametrize(
    "module",
    [
        configuration_joint_er,
        configuration_multiner,
        data_collator_joint_er,
        decoding,
        evaluation,
        modeling_joint_er,
        modeling_multiner,
        processing_multiner,
        readers,
        text_core,
    ],
)
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0 and attempted > 0
