"""Vector stores: FAISS (flat, IVF, auto), Milvus Lite and a real Milvus server, alone and
behind the same API.

`VectorStoreContract` is what every store promises, written once (as haystack's
DocumentStoreBaseTests); each store's class below inherits it and says only how to make one.
"""

import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from tests_support import DOHA

from qa import build_index, load_index
from qa.errors import IndexCorruptError, InputError
from qa.settings import StoreSpec
from qa.stores import FaissStore, MilvusStore, VectorStore, chunk_key, open_store, parse_store

ENVOY = "Thomas West is the special envoy for Afghanistan and spoke about humanitarian aid."
ASTANA = "Kazakhstan removed the Taliban from its list of banned groups. Astana audits it."


def unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class VectorStoreContract:
    """The tests every VectorStore passes. A subclass provides `store` (an empty 8-d store)
    and `store_setting` (a `store=` setting naming a fresh store of its kind)."""

    tolerance = 1e-6  # how far a fetched vector or a score may be from the exact one

    @pytest.fixture
    def store(self) -> Iterator[VectorStore]:
        raise NotImplementedError

    @pytest.fixture
    def store_setting(self) -> str:
        raise NotImplementedError

    def test_a_store_adds_finds_fetches_and_forgets(self, store):
        vectors = unit(200)
        keys = np.arange(1000, 1200, dtype=np.int64)
        store.add(keys, vectors)
        assert len(store) == 200 and sorted(store.keys().tolist()) == keys.tolist()
        found, scores = store.search(vectors[7], 3)
        assert found[0] == 1007 and scores[0] == pytest.approx(1.0, abs=max(1e-5, self.tolerance))
        assert np.allclose(store.get(np.array([1003, 1001])), vectors[[3, 1]], atol=self.tolerance)
        store.remove(np.array([1007, 5]))  # an unknown key is ignored
        assert 1007 not in store.search(vectors[7], 3)[0] and len(store) == 199
        store.add(np.array([1001]), vectors[[50]])  # adding a held key replaces its vector
        assert len(store) == 199 and np.allclose(
            store.get(np.array([1001])), vectors[50], atol=self.tolerance
        )

    def test_a_key_twice_in_one_batch_is_held_once_with_its_last_vector(self, store):
        vectors = unit(4)
        store.add(np.array([7, 8, 7], dtype=np.int64), vectors[:3])
        assert len(store) == 2 and sorted(store.keys().tolist()) == [7, 8]
        assert np.allclose(store.get(np.array([7])), vectors[2], atol=self.tolerance)
        found, _ = store.search(vectors[2], 2)
        assert sorted(found.tolist()) == [7, 8]  # not 7 twice

    def test_its_spec_survives_the_manifest_and_opens_the_same_store(self, store, tmp_path):
        store.add(np.arange(10, 60, dtype=np.int64), unit(50))
        store.save(tmp_path)
        spec = StoreSpec.from_dict(store.describe())  # as the manifest records it
        assert spec == store.spec()
        reopened = open_store(spec.to_dict(), 8, folder=tmp_path, create=False)
        assert reopened.spec() == store.spec()
        assert sorted(reopened.keys().tolist()) == list(range(10, 60))

    def test_build_ask_reindex_remove_and_reload(
        self, store_setting, tmp_path, write, fake_embedder
    ):
        doha = write("docs/doha.txt", DOHA)
        write("docs/envoy.txt", ENVOY)
        index = build_index(
            [tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder, store=store_setting
        )
        assert len(index.store) == 2
        answer = index.ask("Where has the embassy been operating from?")
        assert answer.answered and "Doha" in answer.text

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


class TestFaissFlat(VectorStoreContract):
    @pytest.fixture
    def store(self):
        return FaissStore(8, kind="flat")

    @pytest.fixture
    def store_setting(self):
        return "faiss"  # the default: exact until it grows large


class TestFaissIvf(VectorStoreContract):
    tolerance = 0.01  # IVF keeps each dimension in 8 bits

    @pytest.fixture
    def store(self):
        return FaissStore(8, kind="ivf")

    @pytest.fixture
    def store_setting(self):
        return "faiss:ivf"

    def test_auto_switches_from_exact_to_ivf_at_its_threshold_and_keeps_every_vector(self):
        store = FaissStore(8, kind="auto", ivf_threshold=500)
        vectors = unit(600)
        store.add(np.arange(400), vectors[:400])
        assert not store.is_ivf
        store.add(np.arange(400, 600), vectors[400:])
        assert store.is_ivf and len(store) == 600
        assert store.describe()["searching"] == "ivf" and store.describe()["nlist"] == 15
        hits = sum(store.search(vectors[i], 1)[0][0] == i for i in range(0, 600, 10))
        assert hits >= 57  # approximate: nearly all of 60 found

    def test_a_saved_ivf_store_loads_with_its_keys(self, tmp_path):
        store = FaissStore(8, kind="ivf")
        store.add(np.arange(100, 300), unit(200))
        store.save(tmp_path)
        loaded = FaissStore.load(tmp_path, StoreSpec.from_dict(store.describe()), 8)
        assert loaded.is_ivf and sorted(loaded.keys().tolist()) == list(range(100, 300))
        assert np.allclose(loaded.get(np.array([150])), store.get(np.array([150])))
        loaded.remove(np.array([150]))
        assert len(loaded) == 199


class MilvusContract(VectorStoreContract):
    """Milvus, Lite or server: `uri` says where; each test gets a collection of its own."""

    @pytest.fixture
    def uri(self, tmp_path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def store(self, uri):
        made = MilvusStore(uri, 8, collection=f"test_{uuid.uuid4().hex}")
        yield made
        made.drop()
        made.close()

    @pytest.fixture
    def store_setting(self, uri):
        return f"milvus:{uri}#qa_{uuid.uuid4().hex}"

    def test_ivf_settings_survive_a_reload(self, uri):
        made = MilvusStore(
            uri, 8, collection=f"ivf_{uuid.uuid4().hex}", index_type="IVF_FLAT", nlist=16, nprobe=4
        )
        try:
            made.add(np.arange(100, dtype=np.int64), unit(100))
            reopened = open_store(made.describe(), 8, folder=None, create=False)
            assert isinstance(reopened, MilvusStore)
            assert (reopened.index_type, reopened.nlist, reopened.nprobe) == ("IVF_FLAT", 16, 4)
            assert reopened.search(unit(100)[3], 1)[0][0] == 3
        finally:
            made.drop()
            made.close()


class TestMilvusLite(MilvusContract):
    @pytest.fixture
    def uri(self, tmp_path):
        return str(tmp_path / "milvus.db")

    def test_a_missing_milvus_collection_says_how_to_rebuild(self, tmp_path, write, fake_embedder):
        setting = f"milvus:{tmp_path / 'vectors.db'}#qa_gone"
        index = build_index(
            [write("docs/doha.txt", DOHA)],
            path=tmp_path / "idx",
            embedder=fake_embedder,
            store=setting,
        )
        index.store.drop()
        with pytest.raises(
            IndexCorruptError, match="no collection 'qa_gone'.*Rebuild with: qa index"
        ):
            load_index(tmp_path / "idx", embedder=fake_embedder)


class TestMilvusServer(MilvusContract):
    """The engine a Milvus cluster runs: one server for the session (tests/conftest.py)."""

    @pytest.fixture
    def uri(self, milvus_server):
        return milvus_server


# --- settings that name a store ---------------------------------------------------------------


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
        ("faiss", StoreSpec("faiss", kind="auto")),
        ("faiss:ivf", StoreSpec("faiss", kind="ivf")),
        (
            "milvus:http://db:19530#docs",
            StoreSpec("milvus", uri="http://db:19530", collection="docs"),
        ),
    ],
)
def test_store_settings(setting, spec):
    assert parse_store(setting) == spec


def test_a_milvus_lite_file_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_store("milvus:qa.db").uri == str(tmp_path / "qa.db")


@pytest.mark.parametrize(
    ("saved", "spec"),
    [
        # As manifests wrote them before StoreSpec: FAISS with how it searched, Milvus without
        # nlist or nprobe (now their defaults), and a collection of None.
        (
            {"type": "faiss", "kind": "auto", "nprobe": 48, "ivf_threshold": 100000},
            StoreSpec("faiss"),
        ),
        (
            {
                "type": "faiss",
                "kind": "ivf",
                "nprobe": 8,
                "ivf_threshold": 100000,
                "searching": "ivf",
                "nlist": 15,
            },
            StoreSpec("faiss", kind="ivf", nprobe=8),
        ),
        (
            {
                "type": "milvus",
                "uri": "http://db:19530",
                "collection": "docs",
                "index_type": "AUTOINDEX",
            },
            StoreSpec("milvus", uri="http://db:19530", collection="docs"),
        ),
        (
            {"type": "milvus", "uri": "/srv/qa.db", "collection": None},
            StoreSpec("milvus", uri="/srv/qa.db", collection="qa_chunks"),
        ),
    ],
)
def test_specs_saved_by_earlier_versions_still_load(saved, spec):
    assert StoreSpec.from_dict(saved) == spec


def test_a_spec_writes_only_what_its_store_uses_and_reads_it_back():
    spec = StoreSpec("milvus", uri="http://db:19530", index_type="IVF_FLAT", nlist=64, nprobe=8)
    assert spec.to_dict() == {
        "type": "milvus",
        "uri": "http://db:19530",
        "collection": "qa_chunks",
        "index_type": "IVF_FLAT",
        "nlist": 64,
        "nprobe": 8,
    }
    assert StoreSpec.from_dict(spec.to_dict()) == spec
    assert StoreSpec("faiss", kind="flat").to_dict() == {
        "type": "faiss",
        "kind": "flat",
        "nprobe": 48,
        "ivf_threshold": 100_000,
    }


def test_an_unknown_store_type_in_a_manifest_is_named(tmp_path):
    with pytest.raises(IndexCorruptError, match="Unknown vector store type 'elastic'"):
        open_store({"type": "elastic"}, 8, folder=tmp_path, create=False)


@pytest.mark.parametrize("setting", ["elastic", "milvus:", "faiss:hnsw"])
def test_unknown_store_settings_are_refused(setting, fake_embedder, write, tmp_path):
    with pytest.raises(InputError):
        build_index(
            [write("a.txt", DOHA)], path=tmp_path / "idx", embedder=fake_embedder, store=setting
        )
