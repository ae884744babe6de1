"""The saved index: manifest, atomic replacement, and clear errors for unusable folders."""

import json

import pytest
from tests_support import DOHA

from qa import build_index, load_index
from qa.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from qa.storage import FORMAT_VERSION


@pytest.fixture
def saved(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    return tmp_path / "idx"


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_manifest_records_format_model_chunking_and_document_hashes(saved, tmp_path):
    m = manifest(saved)
    assert m["format"] == "qa-index" and m["format_version"] == FORMAT_VERSION
    assert m["embedding_model"] == "fake-bag-of-words" and m["embedding_dimension"] == 64
    assert m["chunking"] == {"size": 800, "overlap": 150, "splitter_version": 2}
    assert m["roots"] == [str((tmp_path / "docs").resolve())]
    [doc] = m["documents"]
    import hashlib

    assert doc["sha256"] == hashlib.sha256(DOHA.encode()).hexdigest()
    assert doc["source"] == "docs/doha.txt" and doc["characters"] == len(DOHA)
    data = saved / m["data"]
    assert sorted(p.name for p in data.iterdir()) == [
        ".qa-data",  # qa's marker: only data folders holding it are ever deleted by qa
        "bm25",
        "chunk_keys.npy",
        "chunks.jsonl",
        "documents.jsonl",
        "sentence_vectors.npy",
        "sentences.npy",
        "vectors.faiss",
    ]
    assert m["store"] == {
        "type": "faiss",
        "kind": "auto",
        "nprobe": 48,
        "ivf_threshold": 100_000,
        "searching": "flat",
    }
    assert set(m["files"]) == {
        "chunk_keys.npy",
        "chunks.jsonl",
        "documents.jsonl",
        "sentence_vectors.npy",
        "sentences.npy",
        "vectors.faiss",
    }


def test_saving_again_leaves_one_data_folder(saved, write, tmp_path, fake_embedder):
    write("docs/more.txt", "Thomas West is the special envoy.")
    build_index([tmp_path / "docs"], path=saved, embedder=fake_embedder)
    folders = sorted(p.name for p in saved.iterdir() if p.is_dir())
    assert folders == [".qa", manifest(saved)["data"]]
    assert list((saved / ".qa").iterdir()) == []  # qa's work folder holds no leftovers


def test_missing_index_says_how_to_build_one(tmp_path, fake_embedder):
    with pytest.raises(IndexNotFoundError, match=r"No index in .*Build one with: qa index PATH"):
        load_index(tmp_path / "nothing", embedder=fake_embedder)


def test_index_from_another_model_says_how_to_rebuild(saved, tmp_path):
    class OtherEmbedder:
        name = "other-model"
        dimension = 64

    with pytest.raises(IndexMismatchError, match="built with the embedding model") as error:
        load_index(saved, embedder=OtherEmbedder())  # type: ignore[arg-type]
    assert f"qa index {(tmp_path / 'docs').resolve()} --index {saved}" in str(error.value)


def test_index_from_a_newer_format_asks_to_upgrade_or_rebuild(saved, fake_embedder):
    m = manifest(saved)
    m["format_version"] = FORMAT_VERSION + 1
    (saved / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="built by a newer qa: upgrade qa, or rebuild"):
        load_index(saved, embedder=fake_embedder)


@pytest.mark.parametrize("damage", ["truncate", "garble", "delete"])
def test_damaged_data_files_are_detected(saved, fake_embedder, damage):
    target = saved / manifest(saved)["data"] / "sentence_vectors.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:40])
    elif damage == "garble":
        raw = bytearray(target.read_bytes())
        raw[-5] ^= 0xFF
        target.write_bytes(bytes(raw))
    else:
        target.unlink()
    with pytest.raises(IndexCorruptError, match="Rebuild with: qa index"):
        load_index(saved, embedder=fake_embedder)


def test_damaged_manifest_is_detected(saved, fake_embedder):
    (saved / "manifest.json").write_text('{"format": "qa-in')
    with pytest.raises(IndexCorruptError, match="manifest .* is damaged"):
        load_index(saved, embedder=fake_embedder)


def test_a_failed_save_leaves_the_previous_index_usable(
    saved, write, tmp_path, fake_embedder, monkeypatch
):
    import faiss

    before = manifest(saved)

    def broken_write(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", broken_write)
    write("docs/more.txt", "Thomas West is the special envoy.")
    with pytest.raises(OSError, match="No space left"):
        build_index([tmp_path / "docs"], path=saved, embedder=fake_embedder)
    monkeypatch.undo()
    assert manifest(saved) == before
    assert sorted(p.name for p in saved.iterdir() if p.is_dir()) == [".qa", before["data"]]
    assert list((saved / ".qa").iterdir()) == []
    index = load_index(saved, embedder=fake_embedder)
    assert [d.source for d in index.documents] == ["docs/doha.txt"]
    assert index.ask("Where is the embassy operating from?").answered


def test_a_damaged_index_is_rebuilt_by_build_index(saved, tmp_path, fake_embedder):
    (saved / "manifest.json").write_text("not json")
    index = build_index([tmp_path / "docs"], path=saved, embedder=fake_embedder)
    assert index.report.added == ["docs/doha.txt"]
    assert load_index(saved, embedder=fake_embedder).ask("Where is the embassy?").answered
