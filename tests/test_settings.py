"""qa.settings: the answer mode, one enum validated in one place for every way in."""

import inspect

import pytest

import qa
from qa import Conversation, Index, Mode
from qa.errors import InputError


def test_a_mode_is_its_string():
    assert Mode.of("generate") is Mode.GENERATE and Mode.of(Mode.EXTRACTIVE) is Mode.EXTRACTIVE
    assert Mode.GENERATE == "generate" and f"{Mode.EXTRACTIVE}" == "extractive"


def test_an_unknown_mode_names_the_choices():
    with pytest.raises(InputError, match="mode must be one of extractive, generate, got 'poem'"):
        Mode.of("poem")


@pytest.mark.parametrize(
    "function",
    [qa.ask, qa.stream, Index.ask, Index.stream, Conversation.ask, Conversation.stream],
)
def test_every_way_in_has_the_same_default_mode(function):
    assert inspect.signature(function).parameters["mode"].default is Mode.EXTRACTIVE
