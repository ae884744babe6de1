"""The `qa` command as a user runs it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FakeEmbedder

from qa.cli import main

ROOT = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).parent / "qa")


def test_help_is_fast_and_lists_the_commands():
    started = time.perf_counter()
    result = subprocess.run([QA, "--help"], capture_output=True, text=True, check=True)
    assert {"index", "ask", "docs", "remove"} <= set(result.stdout.split()) | {
        w.strip("{},") for w in result.stdout.split()
    }
    assert "Works offline" in result.stdout
    # qa --help must not import torch or the model: far under the ~5 s a model load takes.
    assert time.perf_counter() - started < 3


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_asking_a_missing_index_explains_how_to_build_it(tmp_path, capsys):
    assert main(["ask", "Where?", "--index", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: No index in ")
    assert "qa index PATH... --index" in err and "Traceback" not in err


def test_indexing_a_missing_path_is_a_clear_error(tmp_path, capsys):
    assert main(["index", str(tmp_path / "nope"), "--index", str(tmp_path / "idx")]) == 1
    assert capsys.readouterr().err == f"qa: No such file or folder: {tmp_path / 'nope'}\n"


@pytest.mark.slow
def test_index_ask_docs_remove_round_trip(tmp_path, write, capsys, real_embedder):
    write("docs/doha.txt", "The embassy has been operating from Doha since 2021.\n")
    write("docs/astana.md", "Kazakhstan removed the Taliban from its list of banned groups.\n")
    write("docs/broken.pdf", b"%PDF-1.4 garbage")
    idx = str(tmp_path / "idx")

    assert main(["index", str(tmp_path / "docs"), "--index", idx, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert f"Indexed 2 documents into {idx}: 2 added, 0 updated, 0 unchanged, 0 removed" in out
    assert "skipped docs/broken.pdf: not a readable PDF" in err

    assert main(["ask", "Where is the embassy operating from?", "--index", idx]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Answer: Doha\n\nThe embassy has been operating from Doha since 2021. [1]\n"
    )
    assert "[1] docs/doha.txt, characters 0–52" in out

    assert main(["ask", "Who won the 2022 FIFA World Cup?", "--index", idx, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answered"] is False and data["citations"] == []
    # The one JSON shape, the same as the page's /ask: a passage says where it lies.
    assert data["searched"] == "Who won the 2022 FIFA World Cup?"
    assert data["passages"][0]["location"].startswith("characters ")

    assert main(["docs", "--index", idx]) == 0
    assert "docs/astana.md" in capsys.readouterr().out

    assert main(["remove", "docs/astana.md", "--index", idx]) == 0
    assert "Removed docs/astana.md; 1 documents left" in capsys.readouterr().out


@pytest.mark.slow
def test_console_script_answers_as_json(tmp_path, write):
    write("docs/doha.txt", "The embassy has been operating from Doha since 2021.\n")
    env = {**os.environ, "QA_INDEX": str(tmp_path / "idx")}
    subprocess.run(
        [QA, "index", str(tmp_path / "docs"), "--quiet"], env=env, check=True, capture_output=True
    )
    result = subprocess.run(
        [QA, "ask", "Where is the embassy operating from?", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    answer = json.loads(result.stdout)
    [citation] = answer["citations"]
    text = (tmp_path / "docs" / "doha.txt").read_text()
    assert citation["quote"] == text[citation["start"] : citation["end"]]
    assert "Doha" in answer["text"] and answer["answered"] is True


@pytest.mark.slow
def test_eval_on_a_small_slice_prints_the_table_and_writes_json_and_plot(
    tmp_path, capsys, real_embedder
):
    report, plot = tmp_path / "report.json", tmp_path / "plot.png"
    code = main(
        [
            "eval",
            str(ROOT / "eval" / "squad-train-sample.json"),
            "--articles",
            "1",
            "--sample",
            "40",
            "--quiet",
            "--json",
            str(report),
            "--plot",
            str(plot),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "40 paragraphs from 1 articles" in out
    assert "citations exact                            1.000  >= 1  ok" in out
    data = json.loads(report.read_text())
    assert data["citations"]["exact"] == 1.0 and len(data["questions"]) == 40
    assert data["retrieval"]["recall@10"] >= data["retrieval"]["recall@1"] > 0.5
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_rejects_an_unknown_setting(capsys):
    path = str(ROOT / "eval" / "squad-train-sample.json")
    assert main(["eval", path, "--set", "answering.nonsense=1"]) == 1
    assert "answering has no setting 'nonsense'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "said"),
    [(28, "the disk is full (no space left on device)"), (30, "the disk is read-only")],
)
def test_a_full_or_read_only_disk_is_one_line_not_a_traceback(
    tmp_path, capsys, monkeypatch, code, said
):

    def no_room(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / "idx" / ".qa" / "tmp-1.json"))

    monkeypatch.setattr("qa.updating.commit", no_room)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("The ferry leaves at noon.")
    monkeypatch.setattr("qa.index.SentenceTransformerEmbedder", FakeEmbedder)
    status = main(["index", str(tmp_path / "docs"), "--index", str(tmp_path / "idx"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"qa: Cannot write to {tmp_path / 'idx'}") and said in err


def test_a_newline_in_a_file_name_keeps_one_document_to_a_line(
    tmp_path, capsys, fake_embedder, monkeypatch
):
    from qa import build_index

    monkeypatch.setattr("qa.index.SentenceTransformerEmbedder", FakeEmbedder)

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "two\nlines.txt").write_text("The ferry leaves at noon.")
    (tmp_path / "docs" / "plain.txt").write_text("The bus leaves at one.")
    build_index([tmp_path / "docs"], path=tmp_path / "idx", embedder=fake_embedder)
    assert main(["docs", "--index", str(tmp_path / "idx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "docs/plain.txt  (22 characters)",
        "docs/two\\nlines.txt  (25 characters)",
    ]
    assert len(lines) == 3
