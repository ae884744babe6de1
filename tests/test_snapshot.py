"""A snapshot derived change by change (qa.snapshot.Snapshot.changed) answers exactly as one
built at once over the same documents, and keeps what a change does not touch."""

import random

import numpy as np

import qa.snapshot
from qa import Index, load_index
from qa.lexical import terms
from qa.snapshot import Snapshot

CITIES = "Oslo Lima Quito Accra Hanoi Dakar Minsk Sofia Riga Baku Doha Male Apia Suva".split()
QUESTIONS = ["delegation Kabul aid", "envoy Doha", "Minsk talks spring", "Quito convoy school"]


def note(rng: random.Random, n: int) -> str:
    cities = rng.sample(CITIES, 3)
    return (
        f"Note {n}. The delegation from {cities[0]} visited Kabul in spring to discuss aid. "
        f"An envoy from {cities[1]} met officials in Doha about a school convoy. "
        f"Talks with {cities[2]} went on for {rng.randint(2, 9)} days."
    )


def same_as_built_at_once(snapshot: Snapshot) -> None:
    whole = Snapshot.of(snapshot.entries, snapshot.dimension, snapshot.store)
    assert [c.text for c in snapshot.chunks] == [c.text for c in whole.chunks]
    assert [c.id for c in snapshot.chunks] == [c.id for c in whole.chunks]
    assert np.array_equal(snapshot.keys, whole.keys)
    assert np.array_equal(snapshot.chunk_base, whole.chunk_base)
    assert np.array_equal(snapshot.sentence_base, whole.sentence_base)
    assert np.array_equal(snapshot.rows_of(whole.keys), whole.rows_of(whole.keys))
    assert snapshot.distinct_keys == whole.distinct_keys == len(set(whole.keys.tolist()))
    assert snapshot.by_path == whole.by_path and snapshot.by_source == whole.by_source
    for question in QUESTIONS:
        ours = snapshot.bm25.top(terms(question), 8)
        theirs = whole.bm25.top(terms(question), 8)
        assert [r for r, _ in ours] == [r for r, _ in theirs], question
        assert np.allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-6)
        rows = np.arange(len(whole.chunks))
        assert np.allclose(
            snapshot.bm25.coverage(terms(question), rows),
            whole.bm25.coverage(terms(question), rows),
        )
    for n, entry in enumerate(snapshot.entries):
        assert snapshot.index_of(entry) == n
        rows = range(int(snapshot.chunk_base[n]), int(snapshot.chunk_base[n + 1]))
        assert all(snapshot.document_of(r) is entry.document for r in rows)


def test_a_snapshot_changed_step_by_step_equals_one_built_at_once(
    tmp_path, write, fake_embedder, monkeypatch
):
    monkeypatch.setattr(qa.snapshot, "MAX_SEGMENTS", 4)  # merges happen often
    rng = random.Random(7)
    index = Index(embedder=fake_embedder, path=tmp_path / "idx")
    files = [write(f"docs/first{n}.txt", note(rng, 100 + n)) for n in range(10)]
    index.add([tmp_path / "docs"])  # one segment of ten: removals leave holes in it
    for step in range(40):
        action = rng.choice(["add", "add", "update", "update", "copy", "remove", "remove"])
        if action == "add":
            files.append(write(f"docs/n{step}.txt", note(rng, step)))
            index.add([files[-1]])
        elif action == "update":
            path = rng.choice(files)
            path.write_text(note(rng, step), encoding="utf-8")
            index.add([path])
        elif action == "copy":  # the same text in another file: the two share chunk keys
            files.append(write(f"copies/c{step}.txt", rng.choice(files).read_text()))
            index.add([files[-1]])
        else:
            path = files.pop(rng.randrange(len(files)))
            index.remove(str(path))
        same_as_built_at_once(index.snapshot)
        assert len(index.store) == index.snapshot.distinct_keys  # dropped vectors left
    loaded = load_index(tmp_path / "idx", embedder=fake_embedder)
    assert [d.source for d in loaded.documents] == [d.source for d in index.documents]
    same_as_built_at_once(loaded.snapshot)


def test_a_change_keeps_the_segments_it_does_not_touch(tmp_path, write, fake_embedder):
    index = Index(embedder=fake_embedder)
    for n in range(10):
        write(f"docs/n{n}.txt", f"Note {n} about the envoy in Doha.")
    index.add([tmp_path / "docs"])
    index.add([write("more/late.txt", "A late note about the envoy.")])
    before = index.snapshot
    index.remove("docs/n3.txt")
    # The second segment, and all computed from it, passes on as it is.
    assert len(before.holdings) == 2 and index.snapshot.holdings[1] is before.holdings[1]
    names = [d.source for d in index.documents]
    assert names == [f"docs/n{n}.txt" for n in range(10) if n != 3] + ["late.txt"]


def test_adding_documents_one_at_a_time_rewrites_each_only_a_few_times(
    tmp_path, write, fake_embedder, monkeypatch
):
    # Merging keeps the segments few, but in tiers of size: a small segment is merged into
    # the new one, a large one is left alone. Merging the smallest whenever there are too
    # many made the smallest absorb every change, so each add rewrote more than the last.
    import qa.storage

    written = []
    write_segment = qa.storage._write_segment
    monkeypatch.setattr(
        qa.storage,
        "_write_segment",
        lambda path, segment: written.append(len(segment.entries)) or write_segment(path, segment),
    )
    index = Index(embedder=fake_embedder, path=tmp_path / "idx")
    adds = 300
    for n in range(adds):
        index.add([write(f"docs/n{n}.txt", f"Note {n}: the envoy {CITIES[n % 14]} met in Doha.")])
    assert len(index.snapshot.holdings) <= qa.snapshot.MAX_SEGMENTS
    assert sum(written) / adds < 12  # documents written per document added (was 19)
    assert len(load_index(tmp_path / "idx", embedder=fake_embedder).documents) == adds
