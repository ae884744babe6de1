"""Shared fixtures: a deterministic fake embedder for fast tests, the real model for slow ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests_support import ARTICLE, DOHA, FakeEmbedder

from qa import build_index


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what `make test-fast` leaves out: tests that start the Milvus server (through its
    fixture) and the browser tests."""
    for item in items:
        if "milvus_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.milvus_server)
        if item.path.name == "test_browser.py":
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def write(tmp_path: Path):
    """write("docs/a.txt", "text") creates the file under tmp_path and returns its path."""

    def _write(relative: str, content: str | bytes) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Milvus standalone server (the `milvus` package's binary) on a free loopback
    port, started once for the session (about 7 s): the engine a Milvus cluster runs."""
    import socket

    from milvus import default_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    default_server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    default_server.listen_port = port
    default_server.start()
    yield f"http://127.0.0.1:{port}"
    default_server.stop()


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once for the whole test run."""
    from qa.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def article_index(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    """The shipped article indexed with the real model, in a folder of its own."""
    from qa import build_index

    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(ARTICLE, corpus / ARTICLE.name)
    return build_index([corpus], path=tmp_path_factory.mktemp("index"), embedder=real_embedder)


@pytest.fixture
def small_index(tmp_path, write, fake_embedder):
    """An index (in tmp_path/idx, fake embedder) of one short document, docs/doha.txt."""
    write("docs/doha.txt", DOHA)
    return build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)


# Two documents for conversations: who announced Kazakhstan's decision is the sentence after
# it, and another document also has someone announce something.
DECISION = (
    "Kazakhstan decided to exclude the movement from the list of banned groups. "
    "Aibek Smadiyarov, a ministry spokesman, announced it in December. "
    "The audit follows the practice of the United Nations."
)
HARBOUR = (
    "The harbour of Ulmbridge opens at six in the morning. "
    "Marta Lind runs the harbour office and sells the ferry tickets. "
    "The harbour master announced a new timetable."
)


@pytest.fixture
def conversation_index(tmp_path, write, fake_embedder):
    """An index (fake embedder) of decision.txt and harbour.txt, for follow-up questions."""
    write("docs/decision.txt", DECISION)
    write("docs/harbour.txt", HARBOUR)
    return build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
