"""Every limit that keeps one user, one file or one request from taking the whole machine,
in one place: read from environment variables, with defaults that suit a small computer.

    QA_MAX_UPLOAD_MB               50         bytes of one uploaded file (megabytes)
    QA_MAX_DOCUMENT_CHARS          2000000    characters of text taken from one document
    QA_MAX_UNPACKED_MB             100        what one .docx may unpack to (megabytes)
    QA_MAX_HISTORY_MESSAGES        40         chat messages read for a follow-up question
    QA_LOGIN_ATTEMPTS_PER_MINUTE   10         failed sign-ins per user name a minute
    QA_QUESTIONS_PER_SESSION       2          questions one page or client has in flight

A bad value is an InputError naming the variable, so the app and the CLI stop with a message.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from qa.errors import InputError

# Each message of a chat history is read up to this many characters: a follow-up needs the
# names in the last question and answer, not a pasted book.
MESSAGE_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits in force; `current()` reads them from the environment."""

    upload_bytes: int = 50_000_000
    document_chars: int = 2_000_000  # about 1,000 pages; embedding it takes a few minutes
    unpacked_bytes: int = 100_000_000  # a zip bomb .docx is refused before it is unpacked
    history_messages: int = 40
    login_attempts_per_minute: int = 10
    questions_per_session: int = 2


def current() -> Limits:
    """The limits set by QA_MAX_UPLOAD_MB, QA_MAX_DOCUMENT_CHARS... or their defaults."""
    default = Limits()
    return Limits(
        upload_bytes=megabytes("QA_MAX_UPLOAD_MB", default.upload_bytes),
        document_chars=whole("QA_MAX_DOCUMENT_CHARS", default.document_chars),
        unpacked_bytes=megabytes("QA_MAX_UNPACKED_MB", default.unpacked_bytes),
        history_messages=whole("QA_MAX_HISTORY_MESSAGES", default.history_messages),
        login_attempts_per_minute=whole(
            "QA_LOGIN_ATTEMPTS_PER_MINUTE", default.login_attempts_per_minute
        ),
        questions_per_session=whole("QA_QUESTIONS_PER_SESSION", default.questions_per_session),
    )


def megabytes(name: str, default: int, text: str | None = None) -> int:
    """Bytes from a number of megabytes in `text`, else $name, else `default` bytes."""
    if text is None:
        text = os.environ.get(name) or str(default / 1_000_000)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a number of megabytes above 0 (like 50), got {text!r}")
    return max(1, int(value * 1_000_000))


def whole(name: str, default: int) -> int:
    """A whole number above 0 from $name, else `default`."""
    text = os.environ.get(name) or str(default)
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"{name} must be a whole number above 0 (like {default}), got {text!r}")
    return value
