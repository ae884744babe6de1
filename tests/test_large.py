"""Large folders: read and embedded a batch at a time, committed as it goes, resumable."""

import numpy as np
import pytest

import qa.indexing
from qa import build_index, load_index

SENTENCE = "Document {i} says that the harbour of town {i} opens at {h} o'clock. "


@pytest.fixture
def folder(tmp_path, write):
    for i in range(40):
        write(f"docs/doc-{i:02d}.txt", SENTENCE.format(i=i, h=i % 12) * 20)  # ~1,400 chars
    return tmp_path / "docs"


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(qa.indexing, "BATCH_CHARACTERS", 5_000)  # about four files a batch
    monkeypatch.setattr(qa.indexing, "CHECKPOINT_SECONDS", 0.0)  # commit after every batch


def test_files_are_embedded_a_batch_at_a_time(folder, tmp_path, fake_embedder, small_batches):
    calls = []
    original = fake_embedder.embed

    def counting(texts, *, progress=False):
        calls.append(sum(len(t) for t in texts))
        return original(texts, progress=progress)

    fake_embedder.embed = counting
    index = build_index([folder], path=tmp_path / "idx", embedder=fake_embedder)
    assert len(index.documents) == 40
    assert len(calls) >= 8
    # A batch holds at most 5,000 characters of documents plus the one that tipped it over,
    # each embedded as chunks and sentences (about twice the text).
    assert max(calls) <= 2 * (5_000 + 1_500)


def test_an_interrupted_build_keeps_its_progress_and_resumes(
    folder, tmp_path, fake_embedder, small_batches
):
    original = fake_embedder.embed
    calls = []

    def interrupted(texts, *, progress=False):
        calls.append(len(texts))
        if len(calls) == 5:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the fifth batch
        return original(texts, progress=progress)

    fake_embedder.embed = interrupted
    with pytest.raises(KeyboardInterrupt):
        build_index([folder], path=tmp_path / "idx", embedder=fake_embedder)
    partial = load_index(tmp_path / "idx", embedder=fake_embedder)
    done = len(partial.documents)
    assert 0 < done < 40  # four batches were committed
    # What was committed can be searched (whether to answer is the reader's call).
    assert (
        partial.ask("When does the harbour of town 3 open?")
        .passages[0]
        .source.endswith("doc-03.txt")
    )

    fake_embedder.embed = original
    fake_embedder.embedded.clear()
    index = build_index([folder], path=tmp_path / "idx", embedder=fake_embedder)
    assert len(index.report.unchanged) == done and len(index.report.added) == 40 - done
    assert not any("town 0 " in t for t in fake_embedder.embedded)  # done ones not redone
    assert len(load_index(tmp_path / "idx", embedder=fake_embedder).documents) == 40


def test_an_interrupted_large_file_resumes_inside_the_file(
    tmp_path, write, fake_embedder, small_batches
):
    # One file of ~24,000 characters of distinct sentences: embedded in slices of 5,000.
    lines = [f"Entry {i}: the ferry number {i} leaves pier {i % 7} at dawn." for i in range(400)]
    big = write("big/ledger.txt", " ".join(lines))
    original = fake_embedder.embed
    calls = []

    def interrupted(texts, *, progress=False):
        calls.append(len(texts))
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C in the fourth slice of the one file
        return original(texts, progress=progress)

    fake_embedder.embed = interrupted
    with pytest.raises(KeyboardInterrupt):
        build_index([big], path=tmp_path / "idx", embedder=fake_embedder)
    done = sum(calls[:3])
    assert list((tmp_path / "idx" / ".qa" / "progress").iterdir())  # the three slices kept

    fake_embedder.embed = original
    fake_embedder.embedded.clear()
    index = build_index([big], path=tmp_path / "idx", embedder=fake_embedder)
    resumed = len(fake_embedder.embedded)
    assert not any(t.startswith("Entry 0:") for t in fake_embedder.embedded)
    assert index.report.added == ["ledger.txt"]
    passage = index.search("When does ferry number 399 leave?")[0]
    assert "ferry number 399" in passage.text
    assert not (tmp_path / "idx" / ".qa" / "progress").exists()  # cleared by the save
    # The vectors are those one uninterrupted run gives.
    whole = build_index([big], path=tmp_path / "whole", embedder=fake_embedder)
    assert resumed == whole.report.embedded_texts - done > 0  # only what was left was embedded
    assert np.array_equal(whole.snapshot.keys, index.snapshot.keys)
    assert np.allclose(
        whole.snapshot.sentence_vectors[range(400)], index.snapshot.sentence_vectors[range(400)]
    )


def test_a_long_build_shows_a_progress_bar_over_files(folder, tmp_path, fake_embedder, capsys):
    build_index([folder], path=tmp_path / "idx", embedder=fake_embedder, progress=True)
    err = capsys.readouterr().err
    assert "Indexing" in err and "/40" in err and "file" in err
