"""Vector stores: FAISS (flat, IVF, auto), Milvus Lite and a real Milvus server, alone and
behind the same API."""

import uuid

import numpy as np
import pytest
from tests_support import DOHA

from qa import build_index, load_index
from qa.errors import IndexCorruptError, InputError
from qa.stores import FaissStore, MilvusStore, chunk_key, parse_store

ENVOY = "Thomas West is the special envoy for Afghanistan and spoke about humanitarian aid."
ASTANA = "Kazakhstan removed the Taliban from its list of banned groups. Astana audits it."


def unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def milvus(tmp_path, dim: int = 8) -> MilvusStore:
    return MilvusStore(str(tmp_path / "milvus.db"), dim, collection="test_chunks")


@pytest.fixture(params=["flat", "ivf", "milvus", "milvus-server"])
def store(request, tmp_path):
    if request.param.startswith("milvus"):
        if request.param == "milvus":
            made = milvus(tmp_path)
        else:  # one server for the session: each test its own collection
            uri = request.getfixturevalue("milvus_server")
            made = MilvusStore(uri, 8, collection=f"test_{uuid.uuid4().hex}")
        yield made
        made.drop()
        made.close()
    else:
        yield FaissStore(8, kind=request.param)


def test_a_store_adds_finds_fetches_and_forgets(store):
    vectors = unit(200)
    keys = np.arange(1000, 1200, dtype=np.int64)
    store.add(keys, vectors)
    assert len(store) == 200 and sorted(store.keys().tolist()) == keys.tolist()
    found, scores = store.search(vectors[7], 3)
    assert found[0] == 1007 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(store.get(np.array([1003, 1001])), vectors[[3, 1]], atol=1e-6)
    store.remove(np.array([1007, 5]))  # an unknown key is ignored
    assert 1007 not in store.search(vectors[7], 3)[0] and len(store) == 199
    store.add(np.array([1001]), vectors[[50]])  # adding a held key replaces its vector
    assert len(store) == 199 and np.allclose(store.get(np.array([1001])), vectors[50], atol=1e-6)


def test_auto_switches_from_exact_to_ivf_at_its_threshold_and_keeps_every_vector():
    store = FaissStore(8, kind="auto", ivf_threshold=500)
    vectors = unit(600)
    store.add(np.arange(400), vectors[:400])
    assert not store.is_ivf
    store.add(np.arange(400, 600), vectors[400:])
    assert store.is_ivf and len(store) == 600
    assert store.describe()["searching"] == "ivf" and store.describe()["nlist"] == 15
    hits = sum(store.search(vectors[i], 1)[0][0] == i for i in range(0, 600, 10))
    assert hits >= 57  # approximate: nearly all of 60 found


def test_a_saved_ivf_store_loads_with_its_keys(tmp_path):
    store = FaissStore(8, kind="ivf")
    store.add(np.arange(100, 300), unit(200))
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path, store.describe(), 8)
    assert loaded.is_ivf and sorted(loaded.keys().tolist()) == list(range(100, 300))
    assert np.allclose(loaded.get(np.array([150])), store.get(np.array([150])))
    loaded.remove(np.array([150]))
    assert len(loaded) == 199


def test_chunk_keys_depend_on_content_not_on_the_file_name():
    assert chunk_key("abc", 0, "800/150") == chunk_key("abc", 0, "800/150")
    assert (
        len(
            {
                chunk_key("abc", 0, "s"),
                chunk_key("abc", 1, "s"),
                chunk_key("abd", 0, "s"),
                chunk_key("abc", 0, "t"),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    ("setting", "spec"),
    [
        ("faiss", {"type": "faiss", "kind": "auto"}),
        ("faiss:ivf", {"type": "faiss", "kind": "ivf"}),
        (
            "milvus:http://db:19530#docs",
            {"type": "milvus", "uri": "http://db:19530", "collection": "docs"},
        ),
    ],
)
def test_store_settings(setting, spec):
    assert parse_store(setting) == spec


def test_a_milvus_lite_file_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_store("milvus:qa.db")["uri"] == str(tmp_path / "qa.db")


@pytest.mark.parametrize("setting", ["elastic", "milvus:", "faiss:hnsw"])
def test_unknown_store_settings_are_refused(setting, fake_embedder, write, tmp_path):
    with pytest.raises(InputError):
        build_index(
            [write("a.txt", DOHA)], path=tmp_path / "idx", embedder=fake_embedder, store=setting
        )


# --- the same API on every store --------------------------------------------------------------


@pytest.fixture(params=["faiss", "faiss:ivf", "milvus", "milvus-server"])
def store_setting(request, tmp_path):
    if request.param == "milvus":
        return f"milvus:{tmp_path / 'vectors.db'}#qa_test"
    if request.param == "milvus-server":
        return f"milvus:{request.getfixturevalue('milvus_server')}#qa_{uuid.uuid4().hex}"
    return request.param


def test_build_ask_reindex_remove_and_reload_on_every_store(
    store_setting, tmp_path, write, fake_embedder
):
    doha = write("docs/doha.txt", DOHA)
    write("docs/envoy.txt", ENVOY)
    index = build_index(
        [tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder, store=store_setting
    )
    assert len(index.store) == 2
    answer = index.ask("Where has the embassy been operating from?")
    assert answer.answered and "Doha" in answer.text
    for c in answer.citations:
        assert c.quote == index.document(c.source).text[c.start : c.end]

    # Re-indexing: one changed, one deleted, one new; only those are embedded.
    fake_embedder.embedded.clear()
    doha.write_text(DOHA + " Visas are processed there.", encoding="utf-8")
    (tmp_path / "docs" / "envoy.txt").unlink()
    write("docs/astana.txt", ASTANA)
    index = build_index(
        [tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder, store=store_setting
    )
    assert (index.report.added, index.report.updated, index.report.removed) == (
        ["docs/astana.txt"],
        ["docs/doha.txt"],
        ["docs/envoy.txt"],
    )
    assert "Thomas West" not in " ".join(fake_embedder.embedded)
    assert len(index.store) == 2  # the old vectors of doha.txt and envoy.txt are gone
    assert index.ask("Which country removed the Taliban from its list?").answered

    index.remove("docs/astana.txt")
    reloaded = load_index(tmp_path / "idx", embedder=fake_embedder)
    assert [d.source for d in reloaded.documents] == ["docs/doha.txt"]
    assert len(reloaded.store) == 1
    answer = reloaded.ask("Where has the embassy been operating from since 2021?")
    assert answer.answered and answer.citations[0].source == "docs/doha.txt"


def test_a_missing_milvus_collection_says_how_to_rebuild(tmp_path, write, fake_embedder):
    setting = f"milvus:{tmp_path / 'vectors.db'}#qa_gone"
    index = build_index(
        [write("docs/doha.txt", DOHA)], path=tmp_path / "idx", embedder=fake_embedder, store=setting
    )
    index.store.drop()
    with pytest.raises(IndexCorruptError, match="no collection 'qa_gone'.*Rebuild with: qa index"):
        load_index(tmp_path / "idx", embedder=fake_embedder)
