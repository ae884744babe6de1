"""What a chat page needs from qa besides answers: the index it asks (opened once per
process), and the serving details (sign-in, loopback, errors nobody planned for).

The rest of a page's logic lives beside this: `qa.conversation` (follow-up questions),
`qa.render` (safe HTML and JSON) and `qa.uploads` (the user's own documents).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from pathlib import Path

from qa.api import default_index, default_index_path
from qa.errors import InputError
from qa.index import Index, PathLike

_opened: dict[Path, Index] = {}
_opened_lock = threading.Lock()


def open_index(folder: PathLike | None = None) -> Index:
    """The index saved in `folder` (blank: the default index), opened once per process."""
    text = os.fspath(folder).strip() if folder is not None else ""
    if not text:
        return default_index()
    path = Path(text).expanduser().resolve()
    if path == default_index_path().expanduser().resolve():
        return default_index()
    with _opened_lock:
        if path not in _opened:
            if not path.is_dir():
                raise InputError(f"There is no folder {text}. Give the folder of an index.")
            _opened[path] = Index.load(path)
        return _opened[path]


# --- serving the page -----------------------------------------------------------------------

_log = logging.getLogger("qa.app")


def unexpected(error: BaseException, doing: str) -> str:
    """Log an error nobody planned for, with its traceback, to stderr; the page's short message."""
    _log.error("Unexpected error while %s", doing, exc_info=error)
    return f"Something went wrong while {doing}. The details are in the app's log."


def parse_auth(text: str, *, where: str = "QA_AUTH") -> list[tuple[str, str]]:
    """Sign-ins from "USER:PASSWORD", several separated by commas; [] for an empty text.

    "ann:s3cret, bob:a:b" -> [("ann", "s3cret"), ("bob", "a:b")] (a password may hold ":").
    The message of a bad value never repeats it: it may hold a password.
    """
    pairs: list[tuple[str, str]] = []
    entries = [e.strip() for e in text.split(",")]
    for n, entry in enumerate(entries, start=1):
        if not entry:
            continue  # "ann:pw," is fine
        user, colon, password = entry.partition(":")
        user = user.strip()
        problem = None
        if not colon:
            problem = "has no ':'"
        elif not user:
            problem = "has no user name"
        elif not password:
            problem = "has no password"
        elif user in dict(pairs):
            problem = f"names the user {user!r} again"
        if problem:
            which = f"entry {n}" if len(entries) > 1 else "it"
            raise InputError(
                f"{where} must be USER:PASSWORD, or several separated by commas, "
                f"like ann:correct-horse; {which} {problem}."
            )
        pairs.append((user.strip(), password))
    return pairs


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach a server listening on `host`."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to an outside address
