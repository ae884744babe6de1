"""An index folder is only ever cleaned of what qa wrote: a folder of anything else is refused."""

import json

import pytest
from tests_support import DOHA

from qa import build_index, load_index
from qa.cli import main
from qa.errors import IndexFolderError


@pytest.fixture
def corpus(write):
    return write("corpus/doha.txt", DOHA).parent


def _user_folder(tmp_path):
    # The attacker's reproduction: a folder of precious files and a foreign manifest.json.
    folder = tmp_path / "d"
    (folder / "data-2023-results").mkdir(parents=True)
    (folder / "data-2023-results" / "thesis.txt").write_text("precious\n")
    (folder / "manifest.json").write_text('{"name":"x"}')
    (folder / ".tmp-notes.json").write_text('{"mine": true}')
    return folder


def _snapshot_of(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_indexing_into_a_folder_with_a_foreign_manifest_is_refused_and_touches_nothing(
    tmp_path, corpus, fake_embedder
):
    folder = _user_folder(tmp_path)
    before = _snapshot_of(folder)
    with pytest.raises(IndexFolderError, match="manifest.json that qa did not write"):
        build_index([corpus], path=folder, embedder=fake_embedder)
    assert _snapshot_of(folder) == before


def test_the_cli_reproduction_exits_with_a_message_and_keeps_the_users_files(
    tmp_path, corpus, capsys
):
    folder = _user_folder(tmp_path)
    before = _snapshot_of(folder)
    assert main(["index", str(corpus), "--index", str(folder), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "qa will not write" in err and "Traceback" not in err
    assert _snapshot_of(folder) == before
    assert (folder / "data-2023-results" / "thesis.txt").read_text() == "precious\n"


def test_a_non_empty_folder_without_a_manifest_is_refused(tmp_path, corpus, fake_embedder):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(IndexFolderError, match=r"is not empty \(notes.txt\)"):
        build_index([corpus], path=folder, embedder=fake_embedder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_reindexing_a_qa_index_keeps_files_qa_did_not_write(tmp_path, corpus, fake_embedder):
    folder = tmp_path / "idx"
    build_index([corpus], path=folder, embedder=fake_embedder)
    # A user later puts their own things beside the index, named like qa's own files.
    (folder / "data-2023-results").mkdir()
    (folder / "data-2023-results" / "thesis.txt").write_text("precious\n")
    (folder / ".tmp-notes.json").write_text("{}")
    (corpus / "more.txt").write_text("The envoy met officials in Doha in March.\n")
    build_index([corpus], path=folder, embedder=fake_embedder)
    build_index([corpus], path=folder, embedder=fake_embedder)  # and again: old data goes
    assert (folder / "data-2023-results" / "thesis.txt").read_text() == "precious\n"
    assert (folder / ".tmp-notes.json").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [p.name for p in folder.iterdir() if p.name.startswith("data-")] == ["data-2023-results"]
    segments = sorted(p.name for p in (folder / "segments").iterdir())
    assert segments == sorted(s["name"] for s in manifest["segments"])
    assert len(load_index(folder, embedder=fake_embedder)) == 2


def test_an_empty_or_new_folder_or_the_marked_default_folder_is_accepted(
    tmp_path, corpus, fake_embedder
):
    (tmp_path / "empty").mkdir()
    marked = tmp_path / "marked"
    marked.mkdir()
    (marked / ".qa-index").write_text("for qa\n")
    (marked / "README.md").write_text("The default index lives here.\n")
    for folder in (tmp_path / "empty", tmp_path / "new" / "deep", marked):
        assert len(build_index([corpus], path=folder, embedder=fake_embedder)) == 1
    assert (marked / "README.md").read_text() == "The default index lives here.\n"


def test_a_file_given_as_the_index_folder_is_a_clear_error(tmp_path, corpus, fake_embedder):
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    with pytest.raises(IndexFolderError, match="is a file, not a folder"):
        build_index([corpus], path=target, embedder=fake_embedder)
    assert target.read_text() == "not a folder"
