"""`sinter serve` in operation: API keys, CORS, request deadlines, clients
that disconnect, send slowly, send garbage or half-close, a burst far above
capacity, SIGTERM under load, and a fresh replica that starts from an
artifact it downloads from S3 (a local moto server)."""
import os
import socket
import threading
import time

import pytest

from conftest import DEFAULT_MODEL, SINTER
from s3_helpers import MotoS3
from serve_helpers import Server, inputs_lasting

LONG = ["word " * 250] * 96  # ~24k tokens: seconds of compute on two cores


def metric(server, name):
    _, text, _ = server.get("/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def in_background(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def raw_request(port, path, body, extra=b""):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body


def test_api_key_guards_all_but_health_and_metrics(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-key\n")
    s = Server(tmp_path, DEFAULT_MODEL, "--api-key-file", key_file)
    try:
        status, body, headers = s.post("/embed", {"inputs": "x"})
        assert status == 401 and body["error_type"] == "Validation" and "API key" in body["error"]
        assert headers["WWW-Authenticate"] == "Bearer"
        assert s.post("/embed", {"inputs": "x"}, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert s.post("/embed", {"inputs": "x"},
                      headers={"Authorization": "Bearer s3cret-key"})[0] == 200
        for path in ("/health", "/metrics", "/v2/health/ready", "/v2/health/live", "/ping"):
            assert s.get(path)[0] == 200, path
        assert s.get("/info")[0] == 401
        status, body, _ = s.post("/v1/embeddings", {"input": "x"})
        assert status == 401 and body["error"]["type"] == "authentication_error"
        import openai
        good = openai.OpenAI(base_url=s.url + "/v1", api_key="s3cret-key")
        assert len(good.embeddings.create(model="minilm", input="x").data[0].embedding) == 384
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=s.url + "/v1", api_key="nope").embeddings.create(
                model="minilm", input="x")
    finally:
        assert s.stop() == 0


def test_cors_preflight_allows_the_authorization_header(tmp_path):
    origin = "https://app.example"
    s = Server(tmp_path, DEFAULT_MODEL, "--cors-origin", origin, "--api-key", "k")
    try:
        status, _, headers = s.request("OPTIONS", "/v1/embeddings", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert status == 204  # a preflight needs no key
        assert headers["Access-Control-Allow-Origin"] == origin
        assert "Authorization" in headers["Access-Control-Allow-Headers"]
        assert "POST" in headers["Access-Control-Allow-Methods"]
        status, _, headers = s.post("/embed", {"inputs": "x"},
                                    headers={"Origin": origin, "Authorization": "Bearer k"})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == origin
    finally:
        assert s.stop() == 0


def test_deadline_drops_queued_work_with_504(tmp_path):
    # The client waits as long as LONG takes on this machine and build (the
    # ASan build on an AVX2-only CPU: a minute or more).
    s = Server(tmp_path, DEFAULT_MODEL, "--max-batch-tokens", "4096", timeout=900)
    try:
        # Seconds of compute in runs of 4096 tokens: the deadline passes after the first
        # runs, and the rest is dropped before it is computed.
        status, body, _ = s.post("/embed", {"inputs": LONG}, headers={"x-request-timeout": "300"})
        assert status == 504 and "deadline" in body["error"] and "error_type" in body
        assert metric(s, 'sinter_expired_total{model="minilm"}') == 1
        assert metric(s, 'sinter_tokens_total{model="minilm"}') < 24000  # not all of it ran
        assert metric(s, 'sinter_queue_tokens{model="minilm"}') == 0
        # Without a header, a request has no deadline.
        status, body, _ = s.post("/embed", {"inputs": LONG})
        assert status == 200 and len(body) == len(LONG)
    finally:
        assert s.stop() == 0
    s = Server(tmp_path, DEFAULT_MODEL, "--request-timeout", "1")
    try:
        status, body, _ = s.post("/embed", {"inputs": LONG})
        assert status == 504 and "--request-timeout" in body["error"]
    finally:
        assert s.stop() == 0


def test_a_client_that_disconnects_has_its_queued_work_dropped(tmp_path):
    s = Server(tmp_path, DEFAULT_MODEL, "--max-batch-tokens", "4096", timeout=900)
    try:
        t, long = in_background(lambda: s.post("/embed", {"inputs": LONG}))
        time.sleep(0.45)  # in the middle of a run of the long request
        for path in ("/health", "/v2/health/ready", "/metrics"):  # probes do not wait for it
            t0 = time.monotonic()
            assert s.get(path)[0] == 200 and time.monotonic() - t0 < 0.1, path
        with socket.create_connection(("127.0.0.1", s.port)) as c:  # sent, then gone at once
            c.sendall(raw_request(s.port, "/embed", b'{"inputs": ["gone ' + b"x " * 200 + b'"]}'))
        t.join()
        assert long[0][0] == 200
        deadline = time.monotonic() + 10
        while metric(s, 'sinter_cancelled_total{model="minilm"}') < 1:
            assert time.monotonic() < deadline, "the abandoned request was not dropped"
            time.sleep(0.05)
        assert metric(s, 'sinter_queue_tokens{model="minilm"}') == 0  # nothing leaked
        assert s.post("/embed", {"inputs": "still here"})[0] == 200
    finally:
        assert s.stop() == 0


def test_slow_garbage_and_half_closed_clients(tmp_path):
    s = Server(tmp_path)
    try:
        body = b'{"inputs": "slowly sent"}'
        slow = socket.create_connection(("127.0.0.1", s.port))
        data = raw_request(s.port, "/embed", body)
        for k in range(len(data) - 1):  # a byte at a time; others are served meanwhile
            slow.sendall(data[k:k + 1])
            if k % 40 == 0:
                t0 = time.monotonic()
                assert s.post("/embed", {"inputs": "fast"})[0] == 200
                assert time.monotonic() - t0 < 2
            time.sleep(0.005)
        slow.sendall(data[-1:])
        slow.settimeout(30)
        reply = slow.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200")
        slow.close()
        for garbage in (os.urandom(4096), b"\x00\xff" * 100 + b"\r\n\r\n",
                        b"GET / HTTP/9.9\r\n\r\n", b"POST /embed HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                        b"POST /embed HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            with socket.create_connection(("127.0.0.1", s.port)) as c:
                c.settimeout(10)
                c.sendall(garbage)
                try:
                    got = c.recv(4096)
                except (ConnectionResetError, socket.timeout):
                    got = b""
                # libmicrohttpd answers what is not HTTP itself (400, 505), or closes.
                assert got == b"" or got[:10] in (b"HTTP/1.1 4", b"HTTP/1.0 4", b"HTTP/1.1 5")
        with socket.create_connection(("127.0.0.1", s.port)) as c:  # half-closed after sending
            c.sendall(raw_request(s.port, "/embed", b'{"inputs": "half"}'))
            c.shutdown(socket.SHUT_WR)
            c.settimeout(10)
            try:
                c.recv(4096)
            except (ConnectionResetError, socket.timeout):
                pass
        assert s.get("/health")[0] == 200
        assert metric(s, 'sinter_queue_tokens{model="minilm"}') == 0
        assert s.post("/embed", {"inputs": "after all that"})[0] == 200
    finally:
        assert s.stop() == 0


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_a_burst_far_above_capacity_is_refused_fast_and_memory_stays_bounded(tmp_path):
    s = Server(tmp_path, DEFAULT_MODEL, "--max-queue-tokens", "20000")
    try:
        before = rss_kib(s.proc.pid)
        results, lock = [], threading.Lock()

        def client():
            for _ in range(3):
                t0 = time.monotonic()
                status, _, headers = s.post("/embed", {"inputs": ["word " * 120] * 32})
                with lock:
                    results.append((status, time.monotonic() - t0, headers))

        threads = [threading.Thread(target=client) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [r[0] for r in results]
        assert set(codes) <= {200, 429} and 429 in codes and 200 in codes, codes
        refused = [r for r in results if r[0] == 429]
        assert all(r[2]["Retry-After"] == "1" for r in refused)
        assert sorted(r[1] for r in refused)[len(refused) // 2] < 1.0  # refused at once
        assert rss_kib(s.proc.pid) - before < 400 * 1024
        assert s.get("/health")[0] == 200
    finally:
        assert s.stop() == 0


def test_sigterm_under_load_finishes_in_flight_and_refuses_new(tmp_path):
    # The drain timeout is out of the way: the request in flight takes what
    # this machine and build need (sized from a measurement), and finishes.
    s = Server(tmp_path, DEFAULT_MODEL, "--max-batch-tokens", "4096", "--drain-timeout", "3600",
               "--payload-limit", "8000000", timeout=600)
    inputs = inputs_lasting(s, 3.0, text="word " * 250)
    t, long = in_background(lambda: s.post("/embed", {"inputs": inputs}))
    time.sleep(0.3)
    s.proc.send_signal(15)
    time.sleep(0.2)
    status, body, headers = s.post("/embed", {"inputs": "too late"})
    assert status == 503 and body["error_type"] == "Unhealthy" and "shutting down" in body["error"]
    assert s.get("/health")[0] == 503
    t.join()
    assert long[0][0] == 200 and len(long[0][1]) == len(inputs)
    assert s.proc.wait(timeout=600) == 0


def test_a_request_the_drain_drops_is_answered_503_with_retry_after(tmp_path):
    # Queued work still waiting when --drain-timeout passes is dropped by the
    # server, not by its client: 503 and Retry-After (a load balancer retries
    # it elsewhere), never a 4xx, and the process still exits 0.
    s = Server(tmp_path, DEFAULT_MODEL, "--max-batch-tokens", "512", "--drain-timeout", "1",
               "--max-queue-tokens", "1000000", "--payload-limit", "8000000", timeout=600)
    inputs = inputs_lasting(s, 6.0, text="word " * 250)
    t, long = in_background(lambda: s.post("/embed", {"inputs": inputs}))
    deadline = time.monotonic() + 300
    while metric(s, "te_queue_size") < 1:  # queued (tokenized: seconds under ASan)
        assert time.monotonic() < deadline and t.is_alive(), long
        time.sleep(0.05)
    s.proc.send_signal(15)
    t.join()
    status, body, headers = long[0]
    assert status == 503, (status, body)
    assert body["error_type"] == "Unhealthy" and "--drain-timeout" in body["error"]
    assert headers.get("Retry-After") == "1"
    assert s.proc.wait(timeout=600) == 0


@pytest.mark.skipif(not SINTER.exists(), reason="no build")
def test_a_fresh_replica_starts_from_the_artifact_in_s3(tmp_path):
    moto = MotoS3("sinter-serve")
    try:
        url = f"s3://{moto.bucket}/replicas"
        env_a = {**moto.env(), "SINTER_CACHE_DIR": str(tmp_path / "a")}
        a = Server(tmp_path, DEFAULT_MODEL, "--cache", url, env=env_a)
        try:
            status, info_a, _ = a.get("/info")
            assert info_a["sinter_origin"] == "compiled"
            want = a.post("/embed", {"inputs": ["replica check"]})[1]
        finally:
            assert a.stop() == 0
        env_b = {**moto.env(), "SINTER_CACHE_DIR": str(tmp_path / "b")}
        t0 = time.monotonic()
        b = Server(tmp_path, DEFAULT_MODEL, "--cache", url, env=env_b)
        ready_s = time.monotonic() - t0
        try:
            status, info_b, _ = b.get("/info")
            assert info_b["sinter_origin"] == "remote_cache"
            assert info_b["sinter_content_key"] == info_a["sinter_content_key"]
            assert b.post("/embed", {"inputs": ["replica check"]})[1] == want
            assert ready_s < 60
        finally:
            assert b.stop() == 0
    finally:
        moto.close()
