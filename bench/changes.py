"""What one change costs in a large index: add, re-index and remove one small document.

    python bench/changes.py [--chunks 100000] [--folder /tmp/qa-bench-changes] [--reuse]

Builds an index of about `--chunks` chunks from the SQuAD sample's paragraphs (repeated, each
copy numbered so that no two files are equal), or with --reuse loads the one a previous run
built there, then, each five times, times:

- adding one small new document (`Index.add`) to the index as loaded from disk, re-indexing
  it changed, and removing it;
- adding 100 new small documents one after another (each its own change, merging small
  segments as they go), then removing them one by one;
- removing an old document (from the middle of the index, so from one of its large
  segments) and adding it back;
- loading the index in a fresh process (sha256 checks included), with that process's
  resident memory after loading and after 200 questions' retrieval, and the retrieval p50:
  of those 200 questions, straight after loading (the files' pages not yet in memory: each
  row a question reads comes from the disk), and of the same 200 asked again.

The embedder is a stand-in that hashes each text to a 384-d vector: the model's own time for
one small document (about 20 ms) is not what is measured here, the index's is. For the
"before" figure, it also times writing the whole index afresh (`Index.save` to a new folder):
what every change cost when each one rewrote the index.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval" / "squad-train-sample.json"
PARAGRAPHS_PER_FILE = 40
RUN = 100  # new documents added one after another (merging segments as they go)


class HashEmbedder:
    """A 384-d vector per text from its hash: as fast as can be, same shape as the model's."""

    name = "bench-hash-384"
    dimension = 384

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
            out[row] = np.random.default_rng(seed).standard_normal(self.dimension)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def write_corpus(folder: Path, chunks: int) -> None:
    data = json.loads(EVAL.read_text())["data"]
    paragraphs = [p["context"] for article in data for p in article["paragraphs"]]
    files = max(1, chunks // PARAGRAPHS_PER_FILE)
    folder.mkdir(parents=True)
    for n in range(files):
        picked = [
            f"Copy {n}.{i}. {paragraphs[(n * PARAGRAPHS_PER_FILE + i) % len(paragraphs)]}"
            for i in range(PARAGRAPHS_PER_FILE)
        ]
        (folder / f"doc{n:06d}.txt").write_text("\n\n".join(picked))


LOAD = """
import sys, time, resource
sys.path.insert(0, sys.argv[1])
from changes import HashEmbedder
from qa import load_index
from qa.asking import search
started = time.perf_counter()
index = load_index(sys.argv[2], embedder=HashEmbedder())
loaded = time.perf_counter() - started
rss = lambda: int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
after_load = rss()
p50 = []
for _ in range(2):
    times = []
    for n in range(200):
        t = time.perf_counter()
        index.search(f"Which copy {n} of the paragraph mentions the university?", k=5)
        times.append(time.perf_counter() - t)
    p50.append(sorted(times)[100] * 1000)
print(loaded, after_load, rss(), *p50, len(index.snapshot.chunks))
"""


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import timed  # bench/bench.py: this script's folder is first on sys.path
    from qa import Index, build_index, load_index

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/qa-bench-changes"))
    parser.add_argument("--reuse", action="store_true", help="the index a previous run built")
    args = parser.parse_args()
    corpus, folder = args.folder / "corpus", args.folder / "index"
    embedder = HashEmbedder()
    if not (args.reuse and (folder / "manifest.json").is_file()):
        shutil.rmtree(args.folder, ignore_errors=True)
        write_corpus(corpus, args.chunks)
        started = time.perf_counter()
        index = build_index([corpus], path=folder, embedder=embedder, progress=False)
        print(f"built {len(index.snapshot.chunks)} chunks in {time.perf_counter() - started:.1f} s")
    index = load_index(folder, embedder=embedder)  # as a user's app or CLI holds it

    note = args.folder / "new" / "note.txt"
    note.parent.mkdir(exist_ok=True)
    add, update, remove = [], [], []
    for n in range(5):
        note.write_text(f"The delegation number {n} visited Kabul in March to discuss aid.")
        add.append(timed(lambda: index.add([note])))
        note.write_text(f"The delegation number {n} visited Herat in April to discuss trade.")
        update.append(timed(lambda: index.add([note])))
        remove.append(timed(lambda: index.remove("note.txt")))
    # Many new documents one after another, kept, then removed one by one: merges included.
    run_add, run_remove = [], []
    for n in range(RUN):
        path = note.parent / f"run{n:03d}.txt"
        path.write_text(f"Report {n}: the envoy number {n} met the council in Herat about aid.")
        run_add.append(timed(partial(index.add, [path])))
    for n in range(RUN):
        run_remove.append(timed(partial(index.remove, f"run{n:03d}.txt")))
    # An old document, from the middle of the index (a large segment), removed and put back.
    remove_old, add_back = [], []
    for n in range(5):
        old = index.documents[(2 * n + 1) * len(index.documents) // 11]
        remove_old.append(timed(partial(index.remove, old.source)))
        add_back.append(timed(partial(index.add, [old.path])))
    shutil.rmtree(args.folder / "copy", ignore_errors=True)
    whole = timed(lambda: Index.save(index, args.folder / "copy"))
    script = args.folder / "load.py"
    script.write_text(LOAD)
    out = subprocess.run(
        [sys.executable, str(script), str(Path(__file__).parent), str(folder)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    loaded, rss_load, rss_after, p50, p50_again, chunks = (float(x) for x in out)
    print(f"chunks in index            {int(chunks)}")
    print(f"add one document           p50 {statistics.median(add):.3f} s  max {max(add):.3f} s")
    print(f"re-index it changed        p50 {statistics.median(update):.3f} s")
    print(f"remove it                  p50 {statistics.median(remove):.3f} s", end="")
    print(f"  max {max(remove):.3f} s")
    print(f"{RUN} adds in a row          mean {statistics.mean(run_add):.3f} s", end="")
    print(f"  max {max(run_add):.3f} s")
    print(f"their {RUN} removes          mean {statistics.mean(run_remove):.3f} s", end="")
    print(f"  max {max(run_remove):.3f} s")
    print(f"remove an old document     p50 {statistics.median(remove_old):.3f} s", end="")
    print(f"  max {max(remove_old):.3f} s")
    print(f"add it back                p50 {statistics.median(add_back):.3f} s", end="")
    print(f"  max {max(add_back):.3f} s")
    print(f"write the whole index      {whole:.2f} s  (what each change cost before)")
    print(f"load in a fresh process    {loaded:.1f} s, RSS {rss_load:.0f} MB")
    print(f"after 400 retrievals       RSS {rss_after:.0f} MB")
    print(f"retrieval p50              {p50:.1f} ms the first 200, {p50_again:.1f} ms again")
    du = subprocess.run(["du", "-sm", str(folder)], capture_output=True, text=True).stdout
    print(f"index on disk              {du.split()[0]} MB")


if __name__ == "__main__":
    main()
