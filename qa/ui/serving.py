"""What serving the page needs besides answers: the index it asks (opened once per process),
sign-ins with a limit on guessing, questions in flight per session, loopback, and gradio's
upload cache kept private and emptied."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from qa import limits
from qa.api import default_index, default_index_path
from qa.errors import InputError
from qa.index import Index, PathLike

_opened: dict[Path, Index] = {}
_opened_lock = threading.Lock()

NOT_ALLOWED = (
    "This page may open only its own index and the folders listed in QA_INDEX_FOLDERS by the "
    "person who started it."
)


def allowed_folders() -> list[Path]:
    """The index folders a page may switch to besides its own: $QA_INDEX_FOLDERS, separated by
    the system's path separator (":" on Linux). None by default."""
    listed = os.environ.get("QA_INDEX_FOLDERS", "").split(os.pathsep)
    return [Path(p.strip()).expanduser().resolve() for p in listed if p.strip()]


def open_index(folder: PathLike | None = None) -> Index:
    """The index saved in `folder` (blank: the default index), opened once per process.

    Only the default index and the folders of `allowed_folders()` are opened: anyone using
    the page may type a folder, and must learn nothing about the rest of the machine. Every
    other folder gets the same message, whether it exists or not.
    """
    text = os.fspath(folder).strip() if folder is not None else ""
    if not text:
        return default_index()
    path = Path(text).expanduser().resolve()
    if path == default_index_path().expanduser().resolve():
        return default_index()
    if path not in allowed_folders():
        raise InputError(NOT_ALLOWED)
    with _opened_lock:
        if path not in _opened:
            if not path.is_dir():
                raise InputError(f"There is no folder {text}. Give the folder of an index.")
            _opened[path] = Index.load(path)
        return _opened[path]


# --- serving the page -----------------------------------------------------------------------


def parse_auth(text: str, *, where: str = "QA_AUTH") -> list[tuple[str, str]]:
    """Sign-ins from "USER:PASSWORD", several separated by commas; [] for an empty text.

    "ann:s3cret, bob:a:b" -> [("ann", "s3cret"), ("bob", "a:b")] (a password may hold ":").
    The message of a bad value never repeats it: it may hold a password.
    """
    pairs: list[tuple[str, str]] = []
    entries = [e.strip() for e in text.split(",")]
    if text.strip() and not any(entries):
        # "," would otherwise start the app open to anyone, without a word.
        raise InputError(
            f"{where} must be USER:PASSWORD, or several separated by commas, like "
            "ann:correct-horse; it has no entry."
        )
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


class SignIn:
    """Checks a sign-in against USER:PASSWORD pairs, with a limit on guessing.

    After `per_minute` failed sign-ins for one user name within a minute, that name is refused,
    even with the right password, until the minute has passed; past ten times that many
    failures in a minute across all names, every sign-in is refused for the rest of it.
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be greater than 0, got {per_minute}")
        self.passwords = dict(pairs)
        self.per_minute = per_minute
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._all_failures: deque[float] = deque()
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        """Whether this sign-in is accepted (gradio's `auth` callable)."""
        with self._lock:
            now = self.clock()
            self._forget_before(now - 60)
            mine = self._failures.get(username, ())
            if len(mine) >= self.per_minute or len(self._all_failures) >= 10 * self.per_minute:
                return False
            expected = self.passwords.get(username)
            # Compared in constant time, and a missing user costs a comparison too.
            ok = hmac.compare_digest(
                (expected if expected is not None else "\0" + password).encode(),
                password.encode(),
            )
            if ok and expected is not None:
                return True
            self._failures.setdefault(username, deque()).append(now)
            self._all_failures.append(now)
            return False

    def _forget_before(self, cutoff: float) -> None:
        while self._all_failures and self._all_failures[0] < cutoff:
            self._all_failures.popleft()
        for name in list(self._failures):
            times = self._failures[name]
            while times and times[0] < cutoff:
                times.popleft()
            if not times:
                del self._failures[name]


class SessionSlots:
    """How many questions each page session (or API client) may have in flight at once."""

    def __init__(self, per_session: int | None = None) -> None:
        self.per_session = per_session  # None: $QA_QUESTIONS_PER_SESSION, read at each question
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self, session: str | None) -> Iterator[None]:
        """Hold a slot while answering; InputError when the session already has all of them."""
        key = session or ""
        most = self.per_session or limits.current().questions_per_session
        with self._lock:
            if self._busy.get(key, 0) >= most:
                raise InputError(
                    f"{most} of your questions {'are' if most > 1 else 'is'} already being "
                    "answered; ask again when one is done."
                )
            self._busy[key] = self._busy.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._busy[key] -= 1
                if not self._busy[key]:
                    del self._busy[key]


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach a server listening on `host`."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to an outside address


def private_cache(index_folder: Path) -> Path:
    """The page's own upload cache, inside the index folder and readable by this user only,
    emptied: copies of earlier uploads are never served again, by this app or another."""
    cache = index_folder / ".page-cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(mode=0o700, parents=True)
    cache.chmod(0o700)
    return cache


def forget_uploaded(files: Sequence[str]) -> None:
    """Delete gradio's copies of uploaded files once qa has its own: none is served later."""
    cache = os.environ.get("GRADIO_TEMP_DIR")
    if not cache:
        return
    root = Path(cache).resolve()
    for file in files:
        path = Path(file).resolve()
        if path.is_relative_to(root) and path != root:
            path.unlink(missing_ok=True)
            if path.parent != root:
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # gradio keeps each upload in a folder of its own
