"""Many sessions asking the running app at once: every one answered, each with its own answer."""

import inspect

import pytest

from bench.load_app import run_load
from qa.app_runner import running_app


@pytest.mark.slow
def test_a_burst_of_sessions_is_answered_without_errors_or_mix_ups(tmp_path):
    with running_app(tmp_path) as url:
        report = run_load(url, sessions=16, questions=3, seconds=240)
    print(f"\n{report.table()}")
    assert report.errors == []
    assert report.wrong == []  # each answer holds the words of its own question
    assert report.served == 16 * 3 and not report.stopped_early


def test_the_queue_holds_twice_the_burst_the_bench_sends():
    import app

    sessions = inspect.signature(run_load).parameters["sessions"].default
    assert 2 * sessions <= app.QUEUE_SIZE  # a burst waits in the queue rather than being refused


def test_the_load_is_only_put_on_this_computer():
    with pytest.raises(ValueError, match="only put on this computer"):
        run_load("http://example.com:7860/", sessions=1, questions=1)
