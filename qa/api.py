"""The default index (the shipped article, or whatever `qa index` put in index/) and `ask`."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from qa.errors import IndexNotFoundError
from qa.generate import AnswerStream
from qa.index import Index, PathLike, build_index
from qa.pipeline_settings import DEFAULT_PASSAGES
from qa.settings import Mode
from qa.types import Answer

# The repository (or source tree) that holds qa/, corpus/ and index/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_default: Index | None = None
_default_lock = threading.Lock()


def default_corpus() -> Path:
    """The documents the product ships with: $QA_CORPUS, else corpus/ beside qa/."""
    return Path(os.environ.get("QA_CORPUS") or PROJECT_ROOT / "corpus")


def default_index_path() -> Path:
    """Where the default index lives: $QA_INDEX, else index/ beside qa/."""
    return Path(os.environ.get("QA_INDEX") or PROJECT_ROOT / "index")


def default_index() -> Index:
    """The default index, loaded once per process; built from the shipped corpus if absent."""
    global _default
    with _default_lock:
        if _default is None:
            path = default_index_path()
            try:
                _default = Index.load(path)
            except IndexNotFoundError:
                # A new index's vectors go where $QA_STORE says ("milvus:./qa.db"), or FAISS.
                _default = build_index([default_corpus()], path=path)
        return _default


def ask(
    question: str,
    *,
    index: Index | PathLike | None = None,
    k: int = DEFAULT_PASSAGES,
    mode: Mode | str = Mode.EXTRACTIVE,
) -> Answer:
    """Answer `question` from `index` (an Index or its folder; default: the default index).

    mode "extractive" (default) quotes the documents; "generate" has the local language model
    write the answer and keeps only what the documents support.
    """
    return _index(index).ask(question, k=k, mode=mode)


def stream(
    question: str,
    *,
    index: Index | PathLike | None = None,
    k: int = DEFAULT_PASSAGES,
    mode: Mode | str = Mode.EXTRACTIVE,
) -> AnswerStream:
    """Like `ask`, as it is written: `for piece in s: print(piece, end="")`, then `s.answer`."""
    return _index(index).stream(question, k=k, mode=mode)


def _index(index: Index | PathLike | None) -> Index:
    if index is None:
        return default_index()
    return index if isinstance(index, Index) else Index.load(index)
