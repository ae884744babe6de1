"""Run app.py as a user would, on a free localhost port, with an index of its own; then stop it.

For the tests that use the page and for bench/load_app.py, from a checkout (app.py is beside
qa/, not inside the installed package).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, corpus/
STARTUP_SECONDS = 180  # the first start builds the index from corpus/ with the real model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_app(workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start `python app.py` with its index in `workdir`; yields the page's URL.

    `env` adds to (or overrides) the app's environment: QA_AUTH, QA_MAX_UPLOAD_MB...
    """
    port = free_port()
    extra, env = env or {}, dict(os.environ)
    for name in ("QA_UPLOADS", "QA_AUTH", "QA_MAX_UPLOAD_MB"):
        env.pop(name, None)
    env.update(
        QA_INDEX=str(workdir / "index"),
        QA_HOST="127.0.0.1",
        QA_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    log_path = workdir / "app.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"app.py did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")
