"""Benchmark the vector stores at 10k, 100k and 1M passages, in one run.

    python bench/stores.py [--sizes 10000,100000,1000000] [--queries 200] [--stores ...]

For each size and store: build time (adding every vector, training included), the memory the
store took (resident memory of this process and of Milvus Lite's server, before and after),
query latency p50/p95 over single queries, and recall@10 against exact search.

Vectors: at 10k, real text — overlapping windows of the SQuAD sample's paragraphs, embedded
with the packaged all-MiniLM-L6-v2, with real SQuAD questions as queries. Larger sizes are
synthetic but shaped like real ones: each is a real passage or question vector plus Gaussian
noise (cosine about 0.8 to its source), normalised, so neighbourhoods cluster as real
embeddings do (uniform random vectors would make every approximate index look worse than it
is on text). Embeddings are cached in bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.stores import BOUNDED_SECONDS, IVF_THRESHOLD, FaissStore, MilvusStore, ivf_lists  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EVAL = ROOT / "eval" / "squad-train-sample.json"
DIM = 384
NOISE = 0.035  # per dimension: |noise| ≈ 0.69, cosine to the source ≈ 0.82


def rss_mb() -> float:
    """Resident memory of this process and its children (Milvus Lite runs as one), in MB."""
    import psutil

    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 1e6


def real_vectors(count: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` passage vectors and `queries` question vectors from the SQuAD sample (cached)."""
    if SERVER:
        SERVER["server"].stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = RESULTS / f"real-{count}-{queries}.npz"
    if cache.is_file():
        data = np.load(cache)
        return data["passages"], data["queries"]
    from qa.embeddings import SentenceTransformerEmbedder

    squad = json.loads(EVAL.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in squad for p in a["paragraphs"]]
    questions = [q["question"] for a in squad for p in a["paragraphs"] for q in p["qas"]]
    windows: list[str] = []
    width, stride = 300, 40
    while len(windows) < count:  # overlapping windows, finer each pass, until there are enough
        for text in contexts:
            windows.extend(text[i : i + width] for i in range(0, max(len(text) - 60, 1), stride))
        stride -= 7
    embedder = SentenceTransformerEmbedder()
    passages = embedder.embed(windows[:count], progress=True)
    rng = np.random.default_rng(1)
    asked = [questions[i] for i in rng.choice(len(questions), queries, replace=False)]
    query_vectors = embedder.embed(asked)
    np.savez(cache, passages=passages, queries=query_vectors)
    return passages, query_vectors


def synthetic(base: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` vectors, each a random row of `base` plus noise, normalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, base.shape[1]), dtype=np.float32)
    for start in range(0, count, 100_000):  # in slices: bounded temporary memory
        n = min(100_000, count - start)
        block = base[rng.integers(0, len(base), n)] + rng.normal(0, NOISE, (n, base.shape[1]))
        out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def make_store(kind: str, size: int, folder: Path) -> Any:
    if kind == "faiss-flat":
        return FaissStore(DIM, kind="flat")
    if kind == "faiss-ivf":
        return FaissStore(DIM, kind="ivf")
    if kind == "milvus-lite":  # exact (FLAT) while small; IVF_FLAT, as FAISS's IVF, above
        approximate = size >= IVF_THRESHOLD
        return MilvusStore(
            str(folder / f"bench-{size}.db"),
            DIM,
            collection=f"bench_{size}",
            index_type="IVF_FLAT" if approximate else "FLAT",
            nlist=ivf_lists(size),
        )
    if kind == "milvus-server":  # the same engine as a cluster, on loopback
        approximate = size >= IVF_THRESHOLD
        return MilvusStore(
            SERVER["uri"],
            DIM,
            collection=f"bench_{size}",
            index_type="IVF_FLAT" if approximate else "FLAT",
            nlist=ivf_lists(size),
        )
    raise SystemExit(f"unknown store {kind}")


SERVER: dict[str, Any] = {}  # uri and data folder of the Milvus server, once started


def start_server(folder: Path) -> None:
    """Start the `milvus` package's standalone server on a free loopback port."""
    import socket

    from milvus import default_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    default_server.set_base_dir(str(folder))
    default_server.listen_port = port
    default_server.start()
    SERVER.update(uri=f"http://127.0.0.1:{port}", folder=folder, server=default_server)


def measure(
    kind: str, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, folder: Path
) -> dict[str, Any]:
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    store = make_store(kind, len(vectors), folder)
    keys = np.arange(len(vectors), dtype=np.int64)
    if kind == "faiss-ivf":
        store.add(keys, vectors)  # trains on a sample, then adds everything
    else:
        for at in range(0, len(vectors), 50_000):
            store.add(keys[at : at + 50_000], vectors[at : at + 50_000])
    if kind.startswith("milvus"):
        store.wait_until_indexed()
    build = time.perf_counter() - started
    if kind.startswith("milvus"):
        time.sleep(BOUNDED_SECONDS)  # queries in steady state: past read-your-writes' Strong reads
    gc.collect()
    memory = rss_mb() - before
    held = store_bytes(store, folder) / 1e6
    for q in queries[:5]:
        store.search(q, 10)  # warm up
    latencies, hits = [], 0
    for q, expected in zip(queries, truth, strict=True):
        t = time.perf_counter()
        found, _ = store.search(q, 10)
        latencies.append((time.perf_counter() - t) * 1000)
        hits += len(set(found.tolist()) & set(expected.tolist()))
    result = {
        "store": kind,
        "size": len(vectors),
        "build_s": round(build, 1),
        "memory_mb": round(memory, 0),
        "store_mb": round(held, 0),
        "raw_mb": round(vectors.nbytes / 1e6, 0),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "recall_at_10": round(hits / (10 * len(queries)), 4),
    }
    if kind == "faiss-ivf" or (kind.startswith("milvus") and len(vectors) >= IVF_THRESHOLD):
        result["nlist"], result["nprobe"] = ivf_lists(len(vectors)), store.nprobe
    if kind.startswith("milvus"):
        store.drop()
        store.close()
    del store
    gc.collect()
    return result


def store_bytes(store: Any, folder: Path) -> int:
    """What the store holds: FAISS's index as serialised (its in-memory data), or the size of
    Milvus Lite's files on disk."""
    import faiss

    if isinstance(store, FaissStore):
        return int(faiss.serialize_index(store._index).nbytes)
    if store.uri.startswith("http"):
        folder = SERVER["folder"]
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files)


def exact_top10(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, top = index.search(queries, 10)
    return top


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--stores", default="faiss-flat,faiss-ivf,milvus-lite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    stores = args.stores.split(",")

    import faiss
    import psutil

    real, real_queries = real_vectors(10_000, args.queries)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="qa-stores-") as scratch:
        if "milvus-server" in stores:
            start_server(Path(scratch) / "server")
        for size in sizes:
            if size <= len(real):
                vectors, queries, origin = real[:size], real_queries, "real text"
            else:
                vectors = synthetic(real, size, seed=size)
                queries = synthetic(real_queries, args.queries, seed=size + 1)
                origin = "synthetic"
            truth = exact_top10(vectors, queries)
            for kind in stores:
                result = measure(kind, vectors, queries, truth, Path(scratch))
                result["vectors"] = origin
                rows.append(result)
                print(json.dumps(result), flush=True)
            del vectors
            gc.collect()

    machine = (
        f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads"
    )
    print(f"\n{machine}")
    print(
        f"{'size':>9} {'vectors':10} {'store':12} {'build s':>8} {'RSS +MB':>8} "
        f"{'store MB':>9} {'raw MB':>7} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9}"
    )
    for r in rows:
        print(
            f"{r['size']:>9,} {r['vectors']:10} {r['store']:12} {r['build_s']:>8} "
            f"{r['memory_mb']:>8.0f} {r['store_mb']:>9.0f} {r['raw_mb']:>7.0f} "
            f"{r['p50_ms']:>7} {r['p95_ms']:>7} {r['recall_at_10']:>9}"
        )
    print(
        "RSS +MB: how much this process and Milvus Lite's server grew while building (not the "
        "Milvus server's own process); store MB: FAISS's index data, or Milvus's files on "
        "disk; raw MB: the float32 vectors themselves"
    )
    if SERVER:
        SERVER["server"].stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stores.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
