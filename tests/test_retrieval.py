"""Ranking with hand-written 4-d vectors, so the fused order can be asserted exactly."""

import numpy as np
import pytest

from qa.errors import InputError
from qa.lexical import terms
from qa.retrieval import RetrievalSettings, retrieve
from qa.snapshot import DocumentEntry, Snapshot
from qa.stores import FaissStore
from qa.types import Chunk, Document, Span

VECTORS = {
    "a": ("The embassy moved to Doha.", [1, 0, 0, 0]),
    "b": ("Kazakhstan updated its list of banned groups.", [0, 1, 0, 0]),
    "c": ("The envoy talked about aid and the embassy.", [0.6, 0.8, 0, 0]),
    "d": ("Nothing relevant here at all.", [0, 0, 0, 1]),
}


def entry(key: int, name: str, text: str, vector: np.ndarray) -> DocumentEntry:
    document = Document(source=name, path=f"/docs/{name}", text=text, sha256=name)
    chunk = Chunk(
        id=f"{name}#0",
        source=name,
        start=0,
        end=len(text),
        text=text,
        first_sentence=0,
        end_sentence=1,
    )
    keys = np.array([key], dtype=np.int64)
    return DocumentEntry(document, (Span(0, len(text)),), (chunk,), keys, vector[None, :])


@pytest.fixture
def snapshot() -> Snapshot:
    store = FaissStore(4, kind="flat")
    entries = []
    for key, (name, (text, vector)) in enumerate(VECTORS.items(), start=100):
        v = np.array(vector, dtype=np.float32) / np.linalg.norm(vector)
        store.add(np.array([key]), v[None, :])
        entries.append(entry(key, name, text, v))
    return Snapshot.of(entries, 4, store)


def query(vector: list[float]) -> np.ndarray:
    v = np.array(vector, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_dense_only_ranks_by_cosine(snapshot):
    settings = RetrievalSettings(keyword_weight=0, coverage_weight=0)
    hits = retrieve(snapshot, query([1, 0.1, 0, 0]), [], 4, settings)
    assert [row for row, _ in hits] == [0, 2, 1, 3]


def test_keyword_only_ranks_chunks_with_the_terms_first(snapshot):
    settings = RetrievalSettings(dense_weight=0, sentence_weight=0, coverage_weight=0)
    hits = retrieve(snapshot, query([0, 0, 0, 1]), terms("banned list"), 4, settings)
    # keyword_weight (0.1) * BM25 / the best BM25 among candidates
    assert hits[0] == (1, pytest.approx(0.1))
    assert [score for _, score in hits[1:]] == [0.0, 0.0, 0.0]


def test_weighted_fusion_adds_the_four_signals(snapshot):
    q = query([1, 0.1, 0, 0])
    hits = retrieve(snapshot, q, terms("Kazakhstan"), 4, RetrievalSettings())
    cos_a, cos_b, cos_c = (
        float(q @ query(v)) for v in ([1, 0, 0, 0], [0, 1, 0, 0], [0.6, 0.8, 0, 0])
    )
    # Each chunk is one sentence, so its cosine counts as dense (0.3) and best sentence (0.4);
    # only b holds "Kazakhstan": BM25 (0.1 * 1) and coverage (0.2 * 1).
    assert hits == [
        (0, pytest.approx(0.7 * cos_a, abs=1e-6)),
        (2, pytest.approx(0.7 * cos_c, abs=1e-6)),
        (1, pytest.approx(0.7 * cos_b + 0.1 + 0.2, abs=1e-6)),
        (3, pytest.approx(0.0, abs=1e-6)),
    ]


def test_coverage_lifts_the_chunk_holding_every_question_term(snapshot):
    settings = RetrievalSettings(dense_weight=0, sentence_weight=0, keyword_weight=0)
    hits = retrieve(snapshot, query([0, 0, 0, 1]), terms("envoy embassy aid"), 2, settings)
    assert hits[0] == (2, pytest.approx(0.2))  # coverage_weight (0.2) * all terms present
    assert hits[1][0] == 0 and 0 < hits[1][1] < 0.2  # "embassy" only


def test_rrf_adds_reciprocal_ranks(snapshot):
    settings = RetrievalSettings(fusion="rrf", rrf_k=60)
    # Dense order: a, c, b, d. Keyword order for "kazakhstan": b only.
    hits = retrieve(snapshot, query([1, 0.1, 0, 0]), terms("Kazakhstan"), 2, settings)
    assert [row for row, _ in hits] == [1, 0]
    assert hits[0][1] == pytest.approx(1 / 63 + 1 / 61)
    assert hits[1][1] == pytest.approx(1 / 61)


def test_k_larger_than_the_index_returns_everything_once(snapshot):
    hits = retrieve(snapshot, query([1, 0, 0, 0]), terms("embassy"), 50, RetrievalSettings())
    assert sorted(row for row, _ in hits) == [0, 1, 2, 3]


def test_empty_index_returns_nothing():
    empty = Snapshot.of([], 4, FaissStore(4))
    assert retrieve(empty, query([1, 0, 0, 0]), ["x"], 5, RetrievalSettings()) == []


def test_vectors_the_snapshot_does_not_know_are_ignored(snapshot):
    # Another snapshot's chunk (or one a crash left) sits in the shared store, nearest of all.
    snapshot.store.add(np.array([999]), query([1, 0.05, 0, 0])[None, :])
    hits = retrieve(snapshot, query([1, 0.05, 0, 0]), [], 4, RetrievalSettings())
    assert [row for row, _ in hits] == [0, 2, 1, 3]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"candidates": 0},
        {"rrf_k": -1},
        {"dense_weight": -0.5},
        {"fusion": "max"},
        {"dense_weight": 0, "sentence_weight": 0, "keyword_weight": 0, "coverage_weight": 0},
    ],
)
def test_bad_settings_are_rejected(kwargs):
    with pytest.raises(InputError):
        RetrievalSettings(**kwargs)
