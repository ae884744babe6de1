"""Settings shared by every way in (qa.api, Index, Conversation, the CLI, the page)."""

from __future__ import annotations

from enum import StrEnum

from qa.errors import InputError


class Mode(StrEnum):
    """How an answer is made: quoted from the documents, or written by the language model
    and then checked against them sentence by sentence. A Mode is a str: "extractive"."""

    EXTRACTIVE = "extractive"
    GENERATE = "generate"

    @classmethod
    def of(cls, value: str) -> Mode:
        """`value` as a Mode; anything else is an InputError naming the choices."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise InputError(f"mode must be one of {choices}, got {value!r}") from None
