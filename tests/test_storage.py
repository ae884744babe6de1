"""The saved index: manifest, atomic replacement, and clear errors for unusable folders."""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from tests_support import DOHA

import qa.snapshot
from qa import build_index, load_index
from qa.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from qa.storage import FORMAT_VERSION, SEGMENT_FILES
from qa.stored import StoredDocument
from qa.types import Document


@pytest.fixture
def saved(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    return tmp_path / "idx"


@pytest.fixture
def no_size_merges(monkeypatch):
    """Segments merged only when too many or mostly removed, not in tiers of size: the tests
    that use it watch what one change writes on its own."""
    monkeypatch.setattr(qa.snapshot, "MERGE_TIER", 0)


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def segment_folders(folder):
    return [folder / "segments" / s["name"] for s in manifest(folder)["segments"]]


def test_manifest_records_format_model_chunking_and_file_hashes(saved, tmp_path):
    m = manifest(saved)
    assert m["format"] == "qa-index" and m["format_version"] == FORMAT_VERSION
    assert m["embedding_model"] == "fake-bag-of-words" and m["embedding_dimension"] == 64
    assert m["chunking"] == {"size": 800, "overlap": 150, "splitter_version": 2}
    assert m["roots"] == [str((tmp_path / "docs").resolve())]
    assert m["counts"]["documents"] == 1
    [segment] = m["segments"]
    assert segment["documents"] == 1 and segment["removed"] == []
    folder = saved / "segments" / segment["name"]
    # qa's marker: only data folders holding it are ever deleted by qa
    assert sorted(p.name for p in folder.iterdir()) == sorted([".qa-data", *SEGMENT_FILES])
    assert set(segment["files"]) == set(SEGMENT_FILES)
    [doc] = [json.loads(line) for line in (folder / "documents.jsonl").open()]
    assert doc["sha256"] == hashlib.sha256(DOHA.encode()).hexdigest()
    assert doc["source"] == "docs/doha.txt" and doc["text"] == DOHA
    assert m["store"] == {
        "type": "faiss",
        "kind": "auto",
        "nprobe": 48,
        "ivf_threshold": 100_000,
        "searching": "flat",
    }
    vectors = saved / "vectors" / m["vectors"]["name"]
    assert set(m["vectors"]["files"]) == {"vectors.faiss"} and (vectors / "vectors.faiss").is_file()
    assert m["vectors"]["segments"] == [segment["name"]]


def test_adding_a_document_writes_only_a_new_segment(
    saved, write, tmp_path, fake_embedder, no_size_merges
):
    [first] = segment_folders(saved)
    written = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    vectors = manifest(saved)["vectors"]
    write("docs/more.txt", "Thomas West is the special envoy.")
    index = build_index([tmp_path / "docs"], path=saved, embedder=fake_embedder)
    assert index.report.added == ["docs/more.txt"]
    folders = segment_folders(saved)
    assert folders[0] == first and len(folders) == 2
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == written  # untouched
    assert manifest(saved)["vectors"] == vectors  # the FAISS file is not rewritten either
    assert sorted(p.name for p in saved.iterdir() if p.is_dir()) == [".qa", "segments", "vectors"]
    assert list((saved / ".qa").iterdir()) == []  # qa's work folder holds no leftovers
    # Loaded again, the new document's vectors are found (added back from its sentences).
    loaded = load_index(saved, embedder=fake_embedder)
    answer = loaded.ask("Who is the special envoy?")
    assert answer.answered and answer.citations[0].source == "docs/more.txt"


def test_removing_a_document_rewrites_only_the_manifest(
    saved, write, tmp_path, fake_embedder, no_size_merges
):
    write("more/envoy.txt", "Thomas West is the special envoy.")
    write("more/aid.txt", "The aid convoy reached Herat in March.")
    index = load_index(saved, embedder=fake_embedder)
    index.add([tmp_path / "more"])  # one segment of two documents
    before = {p: p.stat().st_mtime_ns for f in segment_folders(saved) for p in f.iterdir()}
    index.remove("more/envoy.txt")
    after = {p: p.stat().st_mtime_ns for f in segment_folders(saved) for p in f.iterdir()}
    assert after == before
    assert [s["removed"] for s in manifest(saved)["segments"]] == [[], [1]]
    loaded = load_index(saved, embedder=fake_embedder)
    assert [d.source for d in loaded.documents] == ["docs/doha.txt", "more/aid.txt"]
    cited = [c.source for c in loaded.ask("Who is the special envoy?").citations]
    assert "more/envoy.txt" not in cited
    # Removing the segment's last document deletes its folder.
    index.remove("more/aid.txt")
    assert len(segment_folders(saved)) == 1
    assert len(list((saved / "segments").iterdir())) == 1


CITIES = "Oslo Lima Quito Accra Hanoi Dakar Minsk Sofia Riga Baku Doha Male Apia".split()


def test_many_small_changes_are_merged_into_few_segments(
    saved, write, tmp_path, fake_embedder, no_size_merges
):
    index = load_index(saved, embedder=fake_embedder)
    for n in range(qa.snapshot.MAX_SEGMENTS + 3):
        city = CITIES[n % len(CITIES)]
        write(f"more/note{n}.txt", f"The delegation from {city} visited Kabul in spring.")
        index.add([tmp_path / f"more/note{n}.txt"])
        index.remove(f"note{n - 1}.txt") if n % 3 == 2 else None
    segments = manifest(saved)["segments"]
    assert len(segments) <= qa.snapshot.MAX_SEGMENTS
    on_disk = sorted(p.name for p in (saved / "segments").iterdir())
    assert on_disk == sorted(s["name"] for s in segments)  # merged ones are deleted
    loaded = load_index(saved, embedder=fake_embedder)
    assert sorted(d.source for d in loaded.documents) == sorted(d.source for d in index.documents)
    answer = loaded.ask(f"When did the delegation from {CITIES[6]} visit Kabul?")
    assert answer.answered and answer.citations[0].source == "note6.txt"


def test_keyword_scores_of_a_changed_index_equal_those_of_one_built_at_once(
    saved, write, tmp_path, fake_embedder
):
    from qa.lexical import terms

    index = load_index(saved, embedder=fake_embedder)
    for n in range(4):
        write(f"more/n{n}.txt", f"Delegation {n} met the envoy in Doha about aid number {n}.")
        index.add([tmp_path / f"more/n{n}.txt"])
    index.remove("n1.txt")
    fresh = build_index(
        [tmp_path / "docs", *(tmp_path / f"more/n{n}.txt" for n in (0, 2, 3))],
        path=tmp_path / "fresh",
        embedder=fake_embedder,
    )
    by_text = {c.text: c for c in fresh.snapshot.chunks}
    for question in ("envoy Doha aid", "embassy operating", "delegation 3"):
        query = terms(question)
        ours = [
            (index.snapshot.chunks[r].text, round(s, 6))
            for r, s in index.snapshot.bm25.top(query, 10)
        ]
        theirs = [
            (fresh.snapshot.chunks[r].text, round(s, 6))
            for r, s in fresh.snapshot.bm25.top(query, 10)
        ]
        assert sorted(ours) == sorted(theirs) and ours, question
        assert all(text in by_text for text, _ in ours)


def test_an_index_of_format_version_2_loads_and_is_converted_by_the_next_change(
    tmp_path, write, fake_embedder
):
    folder = shutil.copytree(Path(__file__).parent / "data" / "index-v2", tmp_path / "old")
    index = load_index(folder, embedder=fake_embedder)
    assert [d.source for d in index.documents] == ["docs/doha.txt", "docs/envoy.txt"]
    assert index.ask("Where has the embassy been operating from?").answered
    write("new/aid.txt", "The aid convoy reached Herat in March.")
    index.add([tmp_path / "new"])
    m = manifest(folder)
    assert m["format_version"] == FORMAT_VERSION and "data" not in m
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [".qa", "segments", "vectors"]
    loaded = load_index(folder, embedder=fake_embedder)
    assert [d.source for d in loaded.documents] == [
        "docs/doha.txt",
        "docs/envoy.txt",
        "new/aid.txt",
    ]
    assert loaded.ask("Where did the aid convoy arrive?").citations[0].source == "new/aid.txt"


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
    target = segment_folders(saved)[0] / "sentence_vectors.npy"
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
    import qa.lexical

    before = manifest(saved)
    on_disk = sorted(p.name for p in (saved / "segments").iterdir())

    def broken_write(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(qa.lexical.np, "save", broken_write)
    write("docs/more.txt", "Thomas West is the special envoy.")
    with pytest.raises(OSError, match="No space left"):
        build_index([tmp_path / "docs"], path=saved, embedder=fake_embedder)
    monkeypatch.undo()
    assert manifest(saved) == before
    assert sorted(p.name for p in saved.iterdir() if p.is_dir()) == [".qa", "segments", "vectors"]
    assert sorted(p.name for p in (saved / "segments").iterdir()) == on_disk
    assert list((saved / ".qa").iterdir()) == []
    index = load_index(saved, embedder=fake_embedder)
    assert [d.source for d in index.documents] == ["docs/doha.txt"]
    assert index.ask("Where is the embassy operating from?").answered


def test_a_damaged_index_is_rebuilt_by_build_index(saved, tmp_path, fake_embedder):
    (saved / "manifest.json").write_text("not json")
    index = build_index([tmp_path / "docs"], path=saved, embedder=fake_embedder)
    assert index.report.added == ["docs/doha.txt"]
    assert load_index(saved, embedder=fake_embedder).ask("Where is the embassy?").answered


def test_a_loaded_index_reads_texts_from_segments_still_after_a_merge_deletes_them(
    saved, write, tmp_path, fake_embedder, no_size_merges
):
    # A loaded index keeps offsets, not texts: each text is read from its segment when needed.
    index = load_index(saved, embedder=fake_embedder)
    [doha] = index.documents
    assert isinstance(doha, StoredDocument) and doha.text == DOHA and doha.chars == len(DOHA)
    chunk = index.snapshot.chunks[-1]
    assert (
        chunk.text == DOHA[chunk.start : chunk.end]
        and chunk.id == f"docs/doha.txt#{len(index.snapshot.chunks) - 1}"
    )
    write("more/a.txt", "The aid convoy reached Herat in March.")
    write("more/b.txt", "The envoy met the council in Doha in April.")
    write("more/c.txt", "Thomas West is the special envoy.")
    load_index(saved, embedder=fake_embedder).add([tmp_path / "more"])
    index = load_index(saved, embedder=fake_embedder)
    old = set(segment_folders(saved))
    index.remove("more/a.txt")
    index.remove("more/b.txt")  # two of three removed: their segment is merged, and deleted
    assert not old <= {p for p in (saved / "segments").iterdir()}
    answer = index.ask("Who is the special envoy?")
    assert answer.answered and answer.citations[0].source == "more/c.txt"
    assert answer.citations[0].quote == "Thomas West is the special envoy."
    renamed = dataclasses.replace(index.documents[-1], source="c (2).txt")
    assert type(renamed) is Document and renamed.text == "Thomas West is the special envoy."


def test_removing_one_of_two_copies_of_a_file_keeps_the_other_searchable(
    tmp_path, write, fake_embedder
):
    # Copies share their chunk keys (made from the file's sha256): removing one must leave
    # the other's vectors in the store and its chunks found, before and after a reload.
    write("docs/a/doha.txt", DOHA)
    write("docs/b/doha.txt", DOHA)
    index = build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    index.remove("docs/a/doha.txt")
    for current in (index, load_index(tmp_path / "idx", embedder=fake_embedder)):
        answer = current.ask("Where is the embassy operating from?")
        assert answer.answered and {c.source for c in answer.citations} == {"docs/b/doha.txt"}
        assert len(current.store) == len(current.snapshot.chunks)
