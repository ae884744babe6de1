"""A save killed with SIGKILL at any point leaves the previous index loadable and answering."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests_support import DOHA

from qa import Index, build_index

ROOT = Path(__file__).resolve().parent.parent
ENVOY = "Thomas West is the special envoy for Afghanistan and spoke about humanitarian aid."

# Counts calls to module.name and SIGKILLs the child (no cleanup, no finally) at call kill_at.
STEP = textwrap.dedent(
    """
    import os, signal

    def step(module, name):
        original = getattr(module, name)
        def wrapper(*args, **kwargs):
            steps[0] += 1
            if steps[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        setattr(module, name, wrapper)
    """
)

# Adds a document to the index, killing itself (SIGKILL: no cleanup, no finally) just before
# the Nth file-system step of the save: a write, an fsync, a rename or a removal.
CHILD = STEP + textwrap.dedent(
    """
    import os, signal, sys, pathlib, shutil
    sys.path.insert(0, sys.argv[1])
    import faiss, numpy
    import qa.storage as storage
    from conftest import FakeEmbedder
    from qa import Index

    kill_at, steps = int(sys.argv[4]), [0]
    import qa.snapshot
    if sys.argv[5] == "merge":  # the add also merges the segments into one: rewrite and delete
        qa.snapshot.MAX_SEGMENTS = 1
    else:  # a plain add: its own segment, no merge by size
        qa.snapshot.MERGE_TIER = 0

    step(storage, "_fsync")
    step(storage, "_write_json_atomically")
    step(storage, "_remove_stale")
    step(storage.np, "save")
    step(faiss, "write_index")
    step(os, "replace")
    step(pathlib.Path, "rename")
    step(shutil, "rmtree")
    index = Index.load(sys.argv[2], embedder=FakeEmbedder())
    index.add([sys.argv[3]])
    print(steps[0])
    """
)


def run_child(tmp_path: Path, index: Path, new_file: Path, kill_at: int, operation: str):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.run(
        [
            sys.executable,
            str(script),
            str(ROOT / "tests"),
            str(index),
            str(new_file),
            str(kill_at),
            operation,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def base_index(tmp_path, write, fake_embedder):
    write("docs/doha.txt", DOHA)
    build_index([tmp_path / "docs"], path=tmp_path / "base", embedder=fake_embedder)
    return tmp_path / "base"


@pytest.mark.parametrize("operation", ["add", "merge"])
def test_a_save_killed_at_every_step_leaves_a_working_index(
    tmp_path, write, base_index, fake_embedder, operation
):
    new_file = write("more/envoy.txt", ENVOY)
    dry_folder = shutil.copytree(base_index, tmp_path / "dry")
    dry = run_child(tmp_path, dry_folder, new_file, 0, operation)
    assert dry.returncode == 0, dry.stderr
    total = int(dry.stdout.split()[-1])
    assert total >= 10  # writes, fsyncs, renames and clean-up all counted
    expected_segments = 1 if operation == "merge" else 2
    assert len(json.loads((dry_folder / "manifest.json").read_text())["segments"]) == (
        expected_segments
    )

    outcomes = set()
    for kill_at in range(1, total + 1):
        folder = shutil.copytree(base_index, tmp_path / f"killed-{kill_at}")
        result = run_child(tmp_path, folder, new_file, kill_at, operation)
        assert result.returncode == -9, (kill_at, result.stderr)
        index = Index.load(folder, embedder=fake_embedder)  # never a damaged index
        sources = [d.source for d in index.documents]
        assert sources in (["docs/doha.txt"], ["docs/doha.txt", "envoy.txt"]), (kill_at, sources)
        outcomes.add(len(sources))
        assert index.ask("Where has the embassy been operating from?").answered
        # The next save works and clears what the killed one left behind.
        index.add([new_file])
        manifest = json.loads((folder / "manifest.json").read_text())
        segments = sorted(p.name for p in (folder / "segments").iterdir())
        assert segments == sorted(s["name"] for s in manifest["segments"]), (kill_at, segments)
        vectors = [p.name for p in (folder / "vectors").iterdir()]
        assert vectors == [manifest["vectors"]["name"]], (kill_at, vectors)
        assert list((folder / ".qa").iterdir()) == [], kill_at
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".tmp")]
        assert leftovers == [], (kill_at, leftovers)
        assert [d.source for d in Index.load(folder, embedder=fake_embedder).documents] == [
            "docs/doha.txt",
            "envoy.txt",
        ]
    assert outcomes == {1, 2}  # killed before the switch: old index; after it: the new one


# Uploads a replacement of notes.md and a new fresh.txt through add_uploads, killing itself
# (SIGKILL) just before the Nth step: a journal write, a rename, a removal, the index's commit.
UPLOAD_CHILD = STEP + textwrap.dedent(
    """
    import os, signal, sys, pathlib, shutil
    sys.path.insert(0, sys.argv[1])
    import qa.updating as updating
    import qa.ui.uploads as uploads
    from conftest import FakeEmbedder
    from qa import Index

    kill_at, steps = int(sys.argv[3]), [0]

    step(uploads, "_write_journal")
    step(os, "replace")
    step(os, "chmod")
    step(pathlib.Path, "unlink")
    step(shutil, "rmtree")
    step(updating, "commit")
    index = Index.load(sys.argv[2], embedder=FakeEmbedder())
    uploads.add_uploads(index, sys.argv[4:])
    print(steps[0])
    """
)


def test_an_upload_killed_at_every_step_leaves_uploads_and_index_agreeing(
    tmp_path, write, fake_embedder
):
    import hashlib
    import os

    from qa.ui.uploads import add_uploads, clean_on_start

    write("docs/doha.txt", DOHA)
    first = write("v1/notes.md", "The gate code is 4411.")
    files = [write("v2/notes.md", "The gate code is 9020."), write("v2/fresh.txt", "Fresh.")]

    def index_with_an_upload(name: str) -> Path:
        index = build_index([tmp_path / "docs"], path=tmp_path / name, embedder=fake_embedder)
        add_uploads(index, [first])
        return tmp_path / name

    def run(folder: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
        script = tmp_path / "upload_child.py"
        script.write_text(UPLOAD_CHILD)
        scratch = tmp_path / f"tmp-{kill_at}"
        scratch.mkdir()
        done = subprocess.run(
            [sys.executable, str(script), str(ROOT / "tests"), str(folder), str(kill_at)]
            + [str(f) for f in files],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TMPDIR": str(scratch)},
        )
        assert list(scratch.iterdir()) == [], kill_at  # no copy of a document left in /tmp
        return done

    dry = run(index_with_an_upload("dry"), 0)
    assert dry.returncode == 0, dry.stderr
    total = int(dry.stdout.split()[-1])
    assert total >= 8
    outcomes = set()
    for kill_at in range(1, total + 1):
        folder = index_with_an_upload(f"killed-{kill_at}")
        assert run(folder, kill_at).returncode == -9, kill_at
        index = Index.load(folder, embedder=fake_embedder)  # as the app does when it starts
        clean_on_start(index)
        uploads = folder / "uploads"
        on_disk = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(uploads.iterdir())
        }
        indexed = {
            Path(d.path).name: d.sha256
            for d in index.documents
            if Path(d.path).parent == uploads.resolve()
        }
        assert on_disk == indexed, kill_at  # nothing stranded, hidden or unindexed
        outcomes.add(tuple(sorted(on_disk)))
        notes = (uploads / "notes.md").read_text()
        assert notes in ("The gate code is 4411.", "The gate code is 9020."), kill_at
    assert outcomes == {("notes.md",), ("fresh.txt", "notes.md")}  # undone, or finished
