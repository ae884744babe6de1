"""Load on the chat page: many API sessions asking at once, on this computer only; stops by itself.

    python bench/load_app.py [--sessions 32] [--questions 5] [--seconds 300] [--url URL]

Starts app.py on a free loopback port with an index of its own (or uses --url, which must be
a loopback address), opens `--sessions` gradio_client sessions, and lets them all ask at the
same moment: each asks `--questions` questions about the shipped article in turn (quoted
answers), waiting for each answer before the next. It stops after that, or after `--seconds`.
Prints requests served, errors, wrong answers (an answer must hold the words expected for
its own question: answers mixed up between sessions would show here), latency p50/p95/max
and requests per second. The clients share the app's machine, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from a checkout, as the other benchmarks

from qa.app_runner import running_app  # noqa: E402
from qa.article_questions import ARTICLE_QUESTIONS as QUESTIONS  # noqa: E402


@dataclass
class LoadReport:
    """What a load run saw: each answer's latency, and every failure in words."""

    sessions: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def served(self) -> int:
        return len(self.latencies)

    def table(self) -> str:
        """The figures, one per line."""
        ms = sorted(x * 1000 for x in self.latencies) or [0.0]
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        lines = [
            f"sessions             {self.sessions}",
            f"requests served      {self.served}",
            f"errors               {len(self.errors)}",
            f"wrong answers        {len(self.wrong)}",
            f"latency p50          {statistics.median(ms):.0f} ms",
            f"latency p95          {p95:.0f} ms",
            f"latency max          {ms[-1]:.0f} ms",
            f"requests/s           {self.served / max(self.seconds, 1e-9):.1f}",
            f"wall time            {self.seconds:.1f} s"
            + (" (stopped at the time limit)" if self.stopped_early else ""),
        ]
        lines += [f"error: {e}" for e in self.errors[:5]]
        lines += [f"wrong: {w}" for w in self.wrong[:5]]
        return "\n".join(lines)


def run_load(
    url: str,
    *,
    sessions: int = 32,
    questions: int = 5,
    seconds: float = 300.0,
    auth: tuple[str, str] | None = None,
) -> LoadReport:
    """Ask the app at `url` from `sessions` sessions at once, `questions` questions each."""
    if sessions <= 0 or questions <= 0 or seconds <= 0:
        raise ValueError(f"sessions, questions and seconds must be above 0: {sessions, questions}")
    if urllib.parse.urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"load is only put on this computer (a loopback URL), not {url}")
    from gradio_client import Client  # type: ignore[import-untyped]

    report = LoadReport(sessions)
    clock = {"began": 0.0, "deadline": 0.0}

    def go() -> None:  # run once, as the last session reaches the barrier, before any asks
        clock["began"] = time.monotonic()
        clock["deadline"] = clock["began"] + seconds

    start = threading.Barrier(sessions + 1, action=go)

    def session(n: int) -> None:
        try:
            client = Client(url, auth=auth, verbose=False)
        except Exception as error:
            with report.lock:
                report.errors.append(f"session {n} could not connect: {error!r}")
            start.abort()
            return
        try:
            start.wait()  # every session asks its first question at the same moment
        except threading.BrokenBarrierError:
            return
        for i in range(questions):
            if time.monotonic() > clock["deadline"]:
                report.stopped_early = True
                return
            question, expected = QUESTIONS[(n + i) % len(QUESTIONS)]
            began = time.perf_counter()
            try:
                data = client.predict(question, 5, "extractive", api_name="/ask")
            except Exception as error:
                with report.lock:
                    report.errors.append(f"{question!r}: {error!r}")
                continue
            took = time.perf_counter() - began
            with report.lock:
                report.latencies.append(took)
                if data.get("question") != question or expected not in data.get("text", ""):
                    report.wrong.append(f"{question!r} got {data.get('text', '')[:80]!r}")

    threads = [threading.Thread(target=session, args=(n,), daemon=True) for n in range(sessions)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a session's error is reported
        start.wait(timeout=120)
    if not clock["began"]:
        go()
    for thread in threads:
        thread.join(timeout=max(0.0, clock["deadline"] + 60 - time.monotonic()))
    report.seconds = time.monotonic() - clock["began"]
    if any(t.is_alive() for t in threads):
        report.errors.append("some sessions were still waiting for an answer at the time limit")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=32, help="sessions asking at once")
    parser.add_argument("--questions", type=int, default=5, help="questions per session")
    parser.add_argument("--seconds", type=float, default=300, help="stop after this long")
    parser.add_argument("--url", help="a running app on this computer (default: start one)")
    args = parser.parse_args(argv)

    def run(url: str) -> LoadReport:
        print(f"{args.sessions} sessions x {args.questions} questions on {url}", flush=True)
        return run_load(url, sessions=args.sessions, questions=args.questions, seconds=args.seconds)

    if args.url:
        report = run(args.url)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            print("Starting app.py (it builds its index from corpus/ first)...", flush=True)
            with running_app(Path(workdir)) as url:
                report = run(url)
    print(report.table())
    return 0 if not report.errors and not report.wrong else 1


if __name__ == "__main__":
    sys.exit(main())
