"""qa.settings and qa.pipeline_settings: the answer mode, one enum validated in one place for
every way in, and Settings, every setting in one record."""

import dataclasses
import inspect

import pytest
from tests_support import DOHA

import qa
from qa import AnswerSettings, ChunkSettings, Conversation, Index, Mode, Settings, build_index
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


# --- Settings: every setting in one frozen record -----------------------------------------------


def test_settings_group_the_stages_defaults_and_refuse_bad_values():
    settings = Settings()
    assert (settings.chunking.size, settings.chunking.overlap) == (800, 150)
    assert settings.passages == 5 and settings.mode is Mode.EXTRACTIVE
    assert Settings(mode="generate").mode is Mode.GENERATE  # a string is held as its Mode
    with pytest.raises(InputError, match="mode must be one of"):
        Settings(mode="poem")
    with pytest.raises(InputError, match="k \\(passages to retrieve\\)"):
        Settings(passages=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.passages = 3  # type: ignore[misc]


def test_an_index_uses_its_settings_and_a_part_given_alone_replaces_that_part(
    tmp_path, write, fake_embedder
):
    write("docs/doha.txt", DOHA)
    strict = AnswerSettings(min_support=0.9, reader=False)
    settings = Settings(chunking=ChunkSettings(size=60, overlap=0), answering=strict)
    index = build_index(
        [tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder, settings=settings
    )
    assert index.settings == settings and index.answering is strict
    assert [c.text for c in index.snapshot.chunks] == [
        "The embassy has been operating from Doha since 2021.",
        "It offers consular services.",
    ]
    loaded = qa.load_index(tmp_path / "idx", embedder=fake_embedder)
    assert loaded.settings.chunking == settings.chunking  # the manifest's, not the default's
    lenient = Index(embedder=fake_embedder, settings=settings, answering=AnswerSettings())
    assert lenient.answering == AnswerSettings() and lenient.chunking == settings.chunking
