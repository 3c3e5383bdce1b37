"""Helpers for the server tests: `sinter serve` started on 127.0.0.1 and a
free port, a small JSON client, and SIGTERM to stop it."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from conftest import DEFAULT_MODEL, SINTER


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(data):
    """A body as JSON, or as text when it is not JSON (metrics)."""
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data.decode(errors="replace")


class Server:
    """`sinter serve` on 127.0.0.1 and a free port. `model` is one folder
    (served as "minilm") or a list of "NAME=PATH" strings."""

    def __init__(self, tmp_path, model=DEFAULT_MODEL, *extra, wait=True, env=None,
                 binary=SINTER, timeout=60):
        self.timeout = timeout  # seconds a client waits for an answer
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(env if env is not None else os.environ)
        env.setdefault("SINTER_CACHE_DIR", str(tmp_path / "cache"))
        models = model if isinstance(model, list) else [f"minilm={model}"]
        args = [a for m in models for a in ("--model", str(m))]
        self.proc = subprocess.Popen([str(binary), "serve", *args,
                                      "--port", str(self.port), *map(str, extra)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.statuses = []
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read()
            try:
                status, _, _ = self.get("/health")
                self.statuses.append(status)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("server not ready")

    def request(self, method, path, body=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, parse(r.read()), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, parse(e.read()), dict(e.headers)

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, body=None, raw=None, headers=None):
        return self.request("POST", path, body, raw, headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=max(60, self.timeout))


def inputs_lasting(server, seconds, text="word " * 200, probe=8, most=1536):
    """Copies of `text` enough for an /embed request to take about `seconds`
    on this machine and build (measured with `probe` copies: an ASan build on
    an AVX2-only CPU is many times slower than a release build on AVX-512),
    at least `probe` and at most `most`."""
    t0 = time.monotonic()
    status, _, _ = server.post("/embed", {"inputs": [text] * probe})
    assert status == 200
    per_input = max((time.monotonic() - t0) / probe, 1e-4)
    return [text] * max(probe, min(most, int(seconds / per_input)))
