"""Index: building, incremental re-indexing, adding, removing, and asking (fake embedder)."""

import warnings

import pytest
from tests_support import DOHA

from qa import Index, build_index, load_index
from qa.errors import InputError, NoDocumentsError, SkippedFileWarning


@pytest.fixture(autouse=True, params=["faiss", "milvus"])
def each_store(request, monkeypatch, tmp_path):
    """Every test here runs on FAISS and again on Milvus Lite ($QA_STORE: new indexes' store)."""
    if request.param == "milvus":
        monkeypatch.setenv("QA_STORE", f"milvus:{tmp_path / 'vectors.db'}#qa_test")
    return request.param


ASTANA = "Kazakhstan removed the Taliban from its list of banned groups. Astana audits the list."


def test_build_index_then_load_answers_the_same(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    write("docs/astana.md", ASTANA)
    index = build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    assert [d.source for d in index.documents] == ["docs/astana.md", "docs/doha.txt"]
    first = index.ask("Where is the embassy operating from?")
    again = load_index(tmp_path / "idx", embedder=fake_embedder).ask(
        "Where is the embassy operating from?"
    )
    assert first == again
    assert first.answered and "Doha" in first.text


def test_rebuild_embeds_only_new_or_changed_files_and_drops_deleted(tmp_path, write, fake_embedder):
    doha = write("docs/doha.txt", DOHA)
    write("docs/astana.txt", ASTANA)
    index = build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    assert index.report.added == ["docs/astana.txt", "docs/doha.txt"]

    fake_embedder.embedded.clear()
    doha.write_text(DOHA + " The envoy visited Kabul.", encoding="utf-8")
    (tmp_path / "docs" / "astana.txt").unlink()
    write("docs/new.txt", "Thomas West is the special envoy.")
    index = build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)

    report = index.report
    assert report.added == ["docs/new.txt"]
    assert report.updated == ["docs/doha.txt"]
    assert report.removed == ["docs/astana.txt"]
    assert report.unchanged == []
    embedded = " ".join(fake_embedder.embedded)
    assert "Kazakhstan" not in embedded and "Thomas West" in embedded and "Kabul" in embedded
    assert {d.source for d in load_index(tmp_path / "idx", embedder=fake_embedder).documents} == {
        "docs/doha.txt",
        "docs/new.txt",
    }


def test_rebuild_of_unchanged_files_embeds_nothing(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    fake_embedder.embedded.clear()
    index = build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    assert fake_embedder.embedded == []
    assert index.report.unchanged == ["docs/doha.txt"]


def test_new_chunk_settings_re_embed_everything(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    fake_embedder.embedded.clear()
    index = build_index(
        [tmp_path / "docs"],
        path=tmp_path / "idx",
        embedder=fake_embedder,
        chunk_size=60,
        chunk_overlap=0,
    )
    assert index.report.added == ["docs/doha.txt"] and fake_embedder.embedded
    assert load_index(tmp_path / "idx", embedder=fake_embedder).chunking.size == 60


def test_add_keeps_existing_documents_and_remove_drops_one(tmp_path, write, fake_embedder):
    write("a/doha.txt", DOHA)
    index = build_index([tmp_path / "a"], path=tmp_path / "idx", embedder=fake_embedder)
    report = index.add([write("b/astana.txt", ASTANA)])
    assert report.added == ["astana.txt"]
    assert [d.source for d in index.documents] == ["a/doha.txt", "astana.txt"]
    assert index.ask("Which country removed the Taliban from its banned list?").answered

    assert index.remove("astana.txt") == ["astana.txt"]
    reloaded = load_index(tmp_path / "idx", embedder=fake_embedder)
    assert [d.source for d in reloaded.documents] == ["a/doha.txt"]
    with pytest.raises(InputError, match="No document named 'astana.txt'"):
        reloaded.remove("astana.txt")


def test_two_files_with_the_same_name_get_distinct_sources(tmp_path, write, fake_embedder):
    index = Index(embedder=fake_embedder)
    index.add([write("a/notes.txt", DOHA)])
    index.add([write("b/notes.txt", ASTANA)])
    assert [d.source for d in index.documents] == ["notes.txt", "notes (2).txt"]
    assert index.document("notes (2).txt").text == ASTANA


def test_unreadable_files_are_skipped_with_a_warning_and_the_rest_indexed(
    tmp_path, write, fake_embedder
):
    write("docs/doha.txt", DOHA)
    write("docs/empty.txt", "")
    write("docs/image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    messages = sorted(str(w.message) for w in caught if w.category is SkippedFileWarning)
    assert messages == [
        "Skipped docs/empty.txt: file is empty",
        "Skipped docs/image.png: unsupported file type '.png' (supported: .docx, .htm, .html, "
        ".markdown, .md, .pdf, .rst, .text, .txt, .xhtml)",
    ]
    assert [d.source for d in index.documents] == ["docs/doha.txt"]


def test_folder_with_nothing_usable_is_an_error_and_leaves_the_index_alone(
    tmp_path, write, fake_embedder
):
    write("docs/doha.txt", DOHA)
    build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    write("junk/a.png", b"\x89PNG")
    with pytest.raises(NoDocumentsError, match="No readable documents in .*junk"):
        build_index([tmp_path / "junk"], path=tmp_path / "idx", embedder=fake_embedder)
    assert [d.source for d in load_index(tmp_path / "idx", embedder=fake_embedder).documents] == [
        "docs/doha.txt"
    ]


@pytest.mark.parametrize("question", ["", "   ", "?!...", "\x00\x01"])
def test_empty_questions_are_rejected_clearly(fake_embedder, write, question):
    index = Index(embedder=fake_embedder)
    index.add([write("d.txt", DOHA)])
    with pytest.raises(InputError, match="The question is empty"):
        index.ask(question)


@pytest.mark.parametrize("k", [0, -1, 101, 2.5, True])
def test_bad_k_is_rejected(fake_embedder, write, k):
    index = Index(embedder=fake_embedder)
    index.add([write("d.txt", DOHA)])
    with pytest.raises(InputError, match="k \\(passages to retrieve\\)"):
        index.ask("Where is the embassy?", k=k)


def test_an_index_without_documents_refuses(fake_embedder, write):
    index = Index(embedder=fake_embedder)
    index.add([write("d.txt", DOHA)])
    index.remove("d.txt")
    answer = index.ask("Where is the embassy?")
    assert not answer.answered and answer.passages == []


def test_search_returns_passages_best_first_without_composing_an_answer(small_index):
    class NoReader:
        def __getattr__(self, name):
            raise AssertionError("search must not read for an answer")

    small_index._reader = NoReader()
    passages = small_index.search("Where is the embassy operating from?", k=2)
    assert passages and "Doha" in passages[0].text
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_build_returns_the_index_and_what_the_run_changed(tmp_path, write, fake_embedder):
    from qa.index import build

    write("docs/doha.txt", DOHA)
    index, report = build([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    assert report.added == ["docs/doha.txt"] and len(index) == 1
    _, again = build([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    assert again.unchanged == ["docs/doha.txt"] and again.embedded_texts == 0


def test_each_sentence_is_embedded_once_and_chunks_are_their_mean(tmp_path, write, fake_embedder):
    import numpy as np

    # Small chunks with overlap: every sentence sits in one or two chunks, and a repeated
    # sentence appears in two places. Each distinct sentence is still encoded exactly once.
    text = (
        " ".join(f"Harbour {n} opens at {n} o'clock." for n in range(12))
        + " Harbour 3 opens at 3 o'clock."
    )
    write("docs/harbours.txt", text)
    index = build_index(
        [tmp_path / "docs"],
        path=tmp_path / "idx",
        embedder=fake_embedder,
        chunk_size=120,
        chunk_overlap=40,
    )
    [entry] = index.snapshot.entries
    sentences = [text[s.start : s.end] for s in entry.sentences]
    assert sorted(fake_embedder.embedded) == sorted(set(sentences))  # no chunk text encoded
    assert len(entry.chunks) > 3
    for chunk, key in zip(entry.chunks, entry.chunk_keys, strict=True):
        inside = [i for i, s in enumerate(entry.sentences) if chunk.start <= s.start < chunk.end]
        mean = entry.sentence_vectors[inside].mean(axis=0)
        stored = index.store.get(np.array([key]))[0]
        assert np.allclose(stored, mean / np.linalg.norm(mean), atol=1e-6)
