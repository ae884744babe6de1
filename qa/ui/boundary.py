"""The page's one error boundary: whatever a handler raises becomes a short message in the
place the person is looking (the chat, a notice, the API's error), never a traceback."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, TypeVar

from qa.errors import QAError, disk_problem

P = ParamSpec("P")
T = TypeVar("T")
_log = logging.getLogger("qa.app")


def unexpected(error: BaseException, doing: str) -> str:
    """Log an error nobody planned for, with its traceback, to stderr; the page's short message."""
    _log.error("Unexpected error while %s", doing, exc_info=error)
    return f"Something went wrong while {doing}. The details are in the app's log."


def problem(error: BaseException, doing: str) -> str:
    """What a person is told when `doing` failed: qa's own message, a full or read-only disk
    named as such, else one short line (the traceback goes to the log)."""
    if isinstance(error, QAError):
        return str(error)
    return disk_problem(error) or unexpected(error, doing)


# `shown(message, *the handler's arguments)` builds what the page shows instead of the result.
Shown = Callable[Concatenate[str, P], T]


def guarded(doing: str, shown: Shown[P, T]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A handler that shows `problem(error, doing)` through `shown` instead of failing."""

    def wrap(handler: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(handler)  # gradio reads the handler's signature (gr.Request, Progress)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return handler(*args, **kwargs)
            except Exception as error:
                return shown(problem(error, doing), *args, **kwargs)

        return run

    return wrap


def guarded_stream(
    doing: str, shown: Shown[P, T]
) -> Callable[[Callable[P, Iterator[T]]], Callable[P, Iterator[T]]]:
    """`guarded` for a handler that streams: what it yielded stays, then the message comes."""

    def wrap(handler: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
        @functools.wraps(handler)
        def run(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
            try:
                yield from handler(*args, **kwargs)
            except Exception as error:
                yield shown(problem(error, doing), *args, **kwargs)

        return run

    return wrap
