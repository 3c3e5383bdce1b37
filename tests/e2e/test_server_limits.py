"""What one client can make the server hold, and what it can make it say:
NUL characters in JSON strings, answers held for slow readers
(--max-response-bytes, --io-timeout), slowloris (--header-timeout,
--max-connections-per-ip, --probe-port), and the smaller checks (KServe
shapes, a model's readiness behind the key, errors that name no file)."""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import DEFAULT_MODEL, MODELS, SINTER, json_lines, run, sanitized
from serve_helpers import Server, free_port

NUL = "\u0000"


def raw_request(port, path, body, source="127.0.0.1", headers=""):
    """A socket that has sent one POST of `body` (bytes) and reads nothing."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body)
    return sock


def probe_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def closed_by_server(sock, seconds):
    """1 when the server closed the connection within `seconds` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("limits"), DEFAULT_MODEL)
    yield s
    assert s.stop() == 0


def test_a_nul_in_any_string_field_is_refused_naming_it(server):
    cases = [  # (route, body, the field named)
        ("/embed", {"inputs": "a" + NUL + "b and a longer tail"}, "inputs"),
        ("/embed", {"inputs": ["fine", "a" + NUL]}, "inputs[1]"),
        ("/embed_all", {"inputs": [NUL]}, "inputs[0]"),
        ("/embed", {"inputs": "fine", "model": "mini" + NUL + "lm"}, "model"),
        ("/tokenize", {"inputs": ["x", "y" + NUL]}, "inputs[1]"),
        ("/rerank", {"query": "q" + NUL, "texts": ["a"]}, "query"),
        ("/rerank", {"query": "q", "texts": ["a", "b" + NUL]}, "texts[1]"),
        ("/predict", {"inputs": [["a", "b" + NUL]]}, "inputs[0][1]"),
        ("/v1/embeddings", {"input": ["a", NUL], "model": "minilm"}, "input[1]"),
        ("/v1/embeddings", {"input": "a", "model": NUL}, "model"),
        ("/v2/rerank", {"query": "q", "documents": [{"text": "a" + NUL}]}, "documents[0].text"),
        ("/v2/rerank", {"query": "q", "documents": ["a", NUL]}, "documents[1]"),
        ("/v2/models/minilm/infer",
         {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2],
                      "data": ["a", "b" + NUL]}]}, "inputs[0].data[1]"),
        ("/predictions/minilm", {"data": ["a" + NUL]}, "data[0]"),
        ("/embed", {"inputs": "a", "x" + NUL: 1}, "body"),  # a key: the object is named
    ]
    for path, body, field in cases:
        status, answer, _ = server.post(path, body)
        text = json.dumps(answer)
        assert status in (400, 422), (path, status, answer)
        assert f"`{field}`" in text and "NUL" in text, (path, field, answer)


def test_an_escaped_backslash_u0000_is_text_and_embeds_whole(server):
    # "\\u0000" in JSON is the six characters \u0000, not a NUL: embedded as
    # sinter embed embeds that text.
    text = "a\\u0000b and a tail"
    status, got, _ = server.post("/embed", {"inputs": text})
    assert status == 200
    want = json_lines(run("embed", "--model", DEFAULT_MODEL, text, check=0).stdout)[0]
    want = want["embedding"] if isinstance(want, dict) else want
    assert max(abs(a - b) for a, b in zip(got[0], want)) < 1e-6


def test_kserve_shape_dimensions_are_whole_and_not_negative(server):
    def infer(shape, data):
        return server.post("/v2/models/minilm/infer", {"inputs": [
            {"name": "text", "datatype": "BYTES", "shape": shape, "data": data}]})
    for shape in ([-1, -2], [2, -1], [2.5], [-2, -1], ["2"]):
        status, body, _ = infer(shape, ["a", "b"])
        assert status == 400 and "shape" in body["error"], (shape, body)
    status, body, _ = infer([2, 1], ["a", "b"])
    assert status == 200 and body["outputs"][0]["shape"] == [2, 384]
    status, body, _ = infer([0], [])
    assert status == 400  # no inputs: refused, as an empty list is


def test_a_models_readiness_needs_the_key_the_servers_does_not(tmp_path):
    s = Server(tmp_path, DEFAULT_MODEL, "--api-key", "k3y")
    try:
        assert s.get("/v2/models/minilm/ready")[0] == 401
        assert s.get("/v2/models/nosuch/ready")[0] == 401  # names cannot be probed
        ok = s.get("/v2/models/minilm/ready", headers={"Authorization": "Bearer k3y"})
        assert ok[0] == 200 and ok[1]["ready"] is True
        for path in ("/health", "/v2/health/live", "/v2/health/ready", "/ping", "/metrics"):
            assert s.get(path)[0] == 200, path
    finally:
        assert s.stop() == 0


def test_errors_name_the_model_never_a_file_of_the_server(tmp_path):
    cache = tmp_path / "private-cache-dir"
    s = Server(tmp_path, [f"cls={MODELS / 'bert_cls'}"], env={**os.environ,
                                                           "SINTER_CACHE_DIR": str(cache)})
    try:
        status, body, _ = s.post("/predict", {"inputs": "no tokenizer here"})
        assert status == 424, body
        assert 'model "cls"' in body["error"], body
        assert str(cache) not in body["error"] and str(MODELS) not in body["error"], body
    finally:
        assert s.stop() == 0
    assert "has no tokenizer" in s.proc.stderr.read()  # the log keeps the whole story


def test_slow_readers_of_embed_all_stay_within_the_memory_bound(tmp_path):
    # A request of 20 inputs of ~256 tokens: its per-token states are ~8 MB,
    # and their JSON (~25 MB) came on top before this limit existed. Clients
    # that send and never read must not make the server hold more than
    # --max-response-bytes (32 MiB) for them: the first few are admitted and
    # streamed as their clients read (they do not), the others get 429 at once.
    limit = 32 << 20
    s = Server(tmp_path, DEFAULT_MODEL, "--max-response-bytes", str(limit),
               "--max-queue-tokens", "1000000", "--payload-limit", "8000000",
               "--io-timeout", "600")
    socks = []
    try:
        small = json.dumps({"inputs": ["word " * 250] * 20}).encode()  # ~5k tokens, ~8 MB
        big = json.dumps({"inputs": ["word " * 250] * 128}).encode()  # ~32k tokens, ~50 MB
        # The server's own working memory (the session's arena for runs this
        # long, the allocator's pools) is there after one such answer is read.
        assert s.post("/embed_all", raw=small)[0] == 200
        base = rss_bytes(s.proc.pid)
        # A single answer larger than the whole limit is refused before compute.
        status, body, _ = s.post("/embed_all", raw=big)
        assert status == 413 and "--max-response-bytes" in body["error"], body
        # Slow readers: each request fits alone; a few fit together, no more.
        for _ in range(8):
            socks.append(raw_request(s.port, "/embed_all", small))
            time.sleep(0.2)
        wait_for(lambda: "\nte_queue_size 0\n" in s.get("/metrics")[1], 300, "computed")
        status, body, headers = s.post("/embed_all", raw=small)
        assert status == 429 and "--max-response-bytes" in body["error"], body
        assert headers.get("Retry-After") == "1"
        assert 0 < metric(s, "sinter_answer_bytes") <= limit
        held = rss_bytes(s.proc.pid) - base
        print(f"\nRSS over the idle server with 8 slow readers: {held >> 20} MiB "
              f"(--max-response-bytes {limit >> 20} MiB)")
        # The bound: the limit, plus the allocator's and the sockets' slack.
        # (A sanitizer build keeps freed memory in quarantine: its RSS says
        # nothing of what the server holds; the metric above does.)
        if not sanitized(SINTER):
            assert held < limit + (48 << 20), f"the server holds {held >> 20} MiB more"

    finally:
        for sock in socks:
            sock.close()
    # Once the readers are gone, their share is free again.
    wait_for(lambda: s.post("/embed_all", raw=small)[0] == 200, 60, "budget released")
    assert s.stop() == 0


def test_every_kind_of_answer_counts_against_the_memory_bound(tmp_path):
    # 256 KiB for all answers: OpenAI's 2048 inputs, a long /tokenize listing,
    # KServe and rerank with many documents are refused before any compute,
    # naming the limit; small requests of each still pass.
    s = Server(tmp_path, DEFAULT_MODEL, "--max-response-bytes", str(256 << 10),
               "--payload-limit", "8000000")
    try:
        many = [f"text number {i}" for i in range(2048)]
        big = [
            ("/v1/embeddings", {"input": many, "model": "minilm"}),
            ("/embed", {"inputs": many}),
            ("/tokenize", {"inputs": ["word " * 250] * 64}),
            ("/v2/models/minilm/infer", {"inputs": [{"name": "text", "datatype": "BYTES",
                                                      "shape": [2048], "data": many}]}),
            ("/embed_all", {"inputs": ["word " * 250] * 8}),
        ]
        for path, body in big:
            status, answer, _ = s.post(path, body)
            assert status == 413 and "--max-response-bytes" in json.dumps(answer), (path, answer)
        for path, body in [("/v1/embeddings", {"input": many[:8], "model": "minilm"}),
                           ("/tokenize", {"inputs": ["a few words"]}),
                           ("/embed_all", {"inputs": ["a few words"]})]:
            assert s.post(path, body)[0] == 200, path
        # All returned: an answer's share goes back when libmicrohttpd reports
        # the request complete, which may come after the client has read it.
        wait_for(lambda: metric(s, "sinter_answer_bytes") == 0, 30, "answers' bytes returned")
        assert metric(s, "sinter_answer_bytes_limit") == 256 << 10
    finally:
        assert s.stop() == 0


def metric(server, name):
    for line in server.get("/metrics")[1].splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_a_client_that_does_not_read_is_dropped_after_the_io_timeout(tmp_path):
    s = Server(tmp_path, DEFAULT_MODEL, "--io-timeout", "2", "--max-queue-tokens", "1000000",
               "--payload-limit", "8000000")
    try:
        body = json.dumps({"inputs": ["word " * 250] * 40}).encode()
        assert s.post("/embed_all", raw=body)[0] == 200  # a reader keeps up: answered whole
        wait_for(lambda: metric(s, "sinter_answer_bytes") == 0, 30, "its memory returned")
        sock = raw_request(s.port, "/embed_all", body)  # never reads
        wait_for(lambda: metric(s, "sinter_answer_bytes") > 0, 60, "admitted")
        t0 = time.monotonic()
        wait_for(lambda: metric(s, "sinter_connections_timed_out_total") >= 1, 60, "dropped")
        wait_for(lambda: metric(s, "sinter_answer_bytes") == 0, 10, "its memory returned")
        assert time.monotonic() - t0 < 30
        assert closed_by_server(sock, 10)
        sock.close()
    finally:
        assert s.stop() == 0


def test_slowloris_neither_starves_probes_nor_real_requests(tmp_path):
    # Slow clients from 127.0.0.2 trickle a header byte every 200 ms. The
    # per-address cap keeps most of them out, the header deadline closes the
    # rest whatever they trickle, and probes (their own port) and real
    # clients (127.0.0.1) are answered all along.
    probe = free_port()
    s = Server(tmp_path, DEFAULT_MODEL, "--header-timeout", "2", "--max-connections-per-ip", "20",
               "--probe-port", str(probe))
    slow, stop = [], threading.Event()
    try:
        for _ in range(60):
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", s.port))
            sock.sendall(b"POST /embed HTTP/1.1\r\nHost: x\r\n")
            slow.append(sock)

        def trickle():
            while not stop.is_set():
                for sock in slow:
                    try:
                        sock.send(b"X")
                    except OSError:
                        pass
                time.sleep(0.2)
        t = threading.Thread(target=trickle)
        t.start()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            assert s.get("/health")[0] == 200
            for path in ("/health", "/metrics", "/v2/health/ready"):
                assert probe_status(probe, path) == 200, path
            assert probe_status(probe, "/embed") == 404  # probes only
            status, got, _ = s.post("/embed", {"inputs": "a real request"})
            assert status == 200 and len(got[0]) == 384
        # Past the header deadline every slow connection is closed, though
        # each kept sending.
        time.sleep(2.5)
        stop.set()
        t.join()
        closed = sum(closed_by_server(sock, 3) for sock in slow)
        assert closed == len(slow), f"{len(slow) - closed} slow connections still open"
        assert s.post("/embed", {"inputs": "after"})[0] == 200
    finally:
        stop.set()
        for sock in slow:
            sock.close()
        assert s.stop() == 0


@pytest.mark.skipif(not SINTER.exists(), reason="no build")
def test_serve_help_documents_the_limits():
    text = run("serve", "--help", check=0).stdout
    for flag in ("--max-response-bytes", "--header-timeout", "--io-timeout", "--idle-timeout",
                 "--max-connections", "--max-connections-per-ip", "--probe-port"):
        assert flag in text, flag
