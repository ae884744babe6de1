"""The whole flow works with the network cut off: sockets to anything but loopback refused."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

GUARD = textwrap.dedent(
    """
    # Loaded at interpreter start (sitecustomize): refuse and log every non-loopback connection.
    import os, socket

    _LOG = os.environ["NETWORK_ATTEMPTS_LOG"]
    _LOOPBACK = {"127.0.0.1", "::1", "localhost"}

    def _refuse(what):
        with open(_LOG, "a") as log:
            log.write(repr(what) + "\\n")
        raise ConnectionRefusedError(f"network is cut off in this test: {what!r}")

    def _guarded(original):
        def connect(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
                _refuse(address)
            return original(self, address)
        return connect

    socket.socket.connect = _guarded(socket.socket.connect)
    socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
    _getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOOPBACK and host is not None:
            _refuse(host)
        return _getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    """
)

SCRIPT = textwrap.dedent(
    """
    import json, socket
    # The guard is active: a real connection attempt fails.
    try:
        socket.create_connection(("example.com", 80), timeout=2)
        raise SystemExit("network was reachable: the guard did not load")
    except ConnectionRefusedError:
        pass
    from qa import ask
    a = ask("Where has the US embassy in Afghanistan been operating from?")
    b = ask("Who won the 2022 FIFA World Cup?")
    # The language model too: converted from the package's GGUF file, then asked.
    c = ask("When was the US embassy in Kabul closed?", mode="generate")
    print(json.dumps({"a": a.to_dict(), "b": b.to_dict(), "c": c.to_dict()}))
    """
)


def test_build_and_ask_with_the_network_cut_off(tmp_path):
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "attempts.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS"))
    }
    env.update(
        PYTHONPATH=str(tmp_path / "guard"),
        NETWORK_ATTEMPTS_LOG=str(log),
        QA_INDEX=str(tmp_path / "index"),  # a fresh default index, built on first use
        HF_HOME=str(tmp_path / "hf-home"),  # an empty cache: nothing downloaded earlier helps
        QA_CACHE=str(tmp_path / "qa-cache"),  # the model is converted here, with no network
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["a"]["answered"] and "Doha" in answers["a"]["text"]
    assert answers["b"]["answered"] is False
    written = answers["c"]
    assert written["mode"] == "generate" and "August 2021" in written["text"]
    assert written["generation"]["model"] == "SmolLM2-135M-Instruct"
    assert (tmp_path / "qa-cache" / "models").is_dir()
    attempts = log.read_text().splitlines()
    assert attempts == ["('example.com', 80)"] or attempts == ["'example.com'"]
