"""Many sessions asking the running app at once: every one answered, each with its own answer."""

import sys

import pytest
from app_server import ROOT, running_app

sys.path.insert(0, str(ROOT / "bench"))

from load_app import QUESTIONS, run_load


@pytest.mark.slow
def test_a_burst_of_sessions_is_answered_without_errors_or_mix_ups(tmp_path):
    with running_app(tmp_path) as url:
        report = run_load(url, sessions=16, questions=3, seconds=240)
    print(f"\n{report.table()}")
    assert report.errors == []
    assert report.wrong == []  # each answer holds the words of its own question
    assert report.served == 16 * 3 and not report.stopped_early


def test_a_burst_of_the_benchs_size_waits_in_the_queue_rather_than_being_turned_away():
    import app

    assert app.QUEUE_SIZE > 2 * 32  # bench/load_app.py's 32 sessions, twice over
    assert app.CONCURRENCY >= 1


def test_the_load_is_only_put_on_this_computer():
    with pytest.raises(ValueError, match="only put on this computer"):
        run_load("http://example.com:7860/", sessions=1, questions=1)
    assert len({q for q, _ in QUESTIONS}) == len(QUESTIONS)
