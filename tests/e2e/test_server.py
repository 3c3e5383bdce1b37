"""`sinter serve`: the TEI and OpenAI embedding routes against what the CLI
computes, errors in each API's shape, the official openai client, concurrent
clients, admission by queued tokens, readiness while loading, and SIGTERM.
Every test starts its own server on 127.0.0.1 and a free port, and stops it."""
import base64
import struct
import threading
import time
import urllib.request

import pytest

from conftest import (DEFAULT_MODEL, MODELS, classifier_with_tokenizer, cli_logits, json_lines,
                      one_logit_cross_encoder, run)
from serve_helpers import Server, inputs_lasting


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


TEXTS = ["A man is playing a guitar.", "Someone plays an instrument.", "hello world",
         "The quick brown fox jumps over the lazy dog."]


def cli_embeddings(texts):
    return [row["embedding"] for row in json_lines(run("embed", "--model", DEFAULT_MODEL,
                                                       *texts, check=0).stdout)]


def test_embed_equals_the_cli_bit_for_bit(server):
    status, body, headers = server.post("/embed", {"inputs": TEXTS})
    assert status == 200
    assert body == cli_embeddings(TEXTS)  # the same floats, printed with 9 digits by both
    assert int(headers["x-compute-tokens"]) > len(TEXTS) * 2
    assert all(h in headers for h in ("x-total-time", "x-queue-time", "x-inference-time"))
    # One string is a batch of one; the response is always 2-D.
    status, one, _ = server.post("/embed", {"inputs": TEXTS[0]})
    assert status == 200 and one == [body[0]]


def test_embed_token_ids_and_options(server):
    ids = [101, 7592, 2088, 102]
    status, by_ids, _ = server.post("/embed", {"inputs": ids})
    _, by_text, _ = server.post("/embed", {"inputs": ["hello world"]})
    assert status == 200 and by_ids == by_text
    status, lists, _ = server.post("/embed", {"inputs": [ids, [101, 102]]})
    assert status == 200 and len(lists) == 2 and lists[0] == by_text[0]
    # normalize=false: this folder normalises, so the plain pooled vector differs in norm.
    _, raw, _ = server.post("/embed", {"inputs": ["hello world"], "normalize": False})
    norm = sum(x * x for x in raw[0]) ** 0.5
    assert abs(norm - 1) > 1e-3
    assert max(abs(x / norm - y) for x, y in zip(raw[0], by_text[0])) < 1e-5
    # dimensions: the first d values, renormalised.
    status, short, _ = server.post("/embed", {"inputs": ["hello world"], "dimensions": 8})
    assert status == 200 and len(short[0]) == 8
    assert abs(sum(x * x for x in short[0]) - 1) < 1e-5


def test_tei_errors(server):
    status, body, _ = server.post("/embed", raw=b'{"inputs": ')
    assert status == 422 and body["error_type"] == "Validation" and "JSON" in body["error"]
    status, body, _ = server.post("/embed", {"inputs": []})
    assert status == 422 and "empty" in body["error"]
    status, body, _ = server.post("/embed", {"inputs": [1.5, "x"]})
    assert status == 422 and body["error_type"] == "Validation"
    status, body, _ = server.post("/embed", {"inputs": [[101, 999999]]})
    assert status == 422 and "outside the vocabulary" in body["error"]
    long_text = "word " * 600
    status, body, _ = server.post("/embed", {"inputs": [long_text], "truncate": False})
    assert status == 413 and "the limit is 256" in body["error"]
    # truncate defaults to true (TEI's --auto-truncate): the first 256 tokens.
    status, body, _ = server.post("/embed", {"inputs": [long_text]})
    assert status == 200 and len(body) == 1
    _, cut, _ = server.post("/embed", {"inputs": ["word " * 254]})
    assert cut == body
    status, body, _ = server.post("/embed", raw=b'{"inputs": "' + b"a" * (3 << 20) + b'"}')
    assert status == 413 and body["error_type"] == "Validation" and "limit" in body["error"]
    status, body, _ = server.get("/nope")
    assert status == 404 and "error" in body


def test_openai_client_float_and_base64(server):
    import openai
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    want = cli_embeddings(TEXTS)
    got = client.embeddings.create(model="minilm", input=TEXTS)
    # The client asks for base64 itself: exact float32s against the CLI's 9 digits.
    for d, w in zip(got.data, want):
        assert max(abs(a - b) for a, b in zip(d.embedding, w)) < 1e-8
    assert [d.index for d in got.data] == list(range(len(TEXTS)))
    assert got.usage.prompt_tokens > len(TEXTS) * 2
    status, body, _ = server.post("/v1/embeddings", {"input": TEXTS[:1], "model": "minilm",
                                                     "encoding_format": "base64"})
    assert status == 200
    raw = base64.b64decode(body["data"][0]["embedding"])
    floats = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert max(abs(a - b) for a, b in zip(floats, want[0])) < 1e-7
    with pytest.raises(openai.BadRequestError) as e:
        client.embeddings.create(model="minilm", input=[])
    assert "empty" in str(e.value)
    status, body, _ = server.post("/v1/embeddings", {"input": "x", "dimensions": 0})
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


def test_concurrent_clients_get_their_own_results(server):
    texts = [f"sentence number {i} about {'cats' if i % 2 else 'the stock market'}"
             for i in range(24)]
    want = dict(zip(texts, cli_embeddings(texts)))
    got, errors = {}, []

    def client(chunk):
        for t in chunk:
            status, body, _ = server.post("/embed", {"inputs": [t, "filler " * (len(t) % 7)]})
            if status != 200:
                errors.append(status)
            got[t] = body[0]

    threads = [threading.Thread(target=client, args=(texts[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert got == want


def test_full_queue_answers_429_at_once(tmp_path):
    s = Server(tmp_path, DEFAULT_MODEL, "--max-queue-tokens", "600", "--max-batch-tokens", "256")
    try:
        statuses, lock = [], threading.Lock()

        def burst():
            status, body, headers = s.post("/embed", {"inputs": ["word " * 200] * 2,
                                                      "truncate": True})
            with lock:
                statuses.append((status, body, headers))

        threads = [threading.Thread(target=burst) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [st for st, _, _ in statuses]
        assert 429 in codes, codes  # two requests of 512 tokens are more than the queue holds
        for st, body, headers in statuses:
            if st == 429:
                assert body["error_type"] == "Overloaded" and headers["Retry-After"] == "1"
        status, _, _ = s.post("/embed", {"inputs": ["still serving"]})
        assert status == 200
        # A request larger than the whole queue can never fit: 413, not an endless 429.
        status, body, _ = s.post("/embed", {"inputs": ["word " * 200] * 3})
        assert status == 413 and "--max-queue-tokens" in body["error"]
    finally:
        assert s.stop() == 0


def test_listens_before_ready_and_drains_on_sigterm(tmp_path):
    # The drain waits as long as the request in flight takes, however slow
    # this machine and build are: its timeout is no part of this test.
    s = Server(tmp_path, DEFAULT_MODEL, "--drain-timeout", "3600", "--payload-limit", "8000000",
               wait=False, timeout=600)  # a fresh cache: it compiles first
    s.wait_ready()
    assert s.statuses[0] == 503 and s.statuses[-1] == 200, s.statuses
    status, info, _ = s.get("/info")
    assert status == 200 and info["model_id"] == "minilm"
    assert info["model_type"] == {"embedding": {"pooling": "mean"}}
    assert info["max_input_length"] == 256
    # A request in flight when SIGTERM comes (seconds of compute) still completes.
    results = []
    inputs = inputs_lasting(s, 3.0)
    t = threading.Thread(target=lambda: results.append(s.post("/embed", {"inputs": inputs,
                                                                         "truncate": True})))
    t.start()
    time.sleep(0.5)
    assert s.stop() == 0
    t.join()
    assert results and results[0][0] == 200 and len(results[0][1]) == len(inputs)
    assert "draining" in s.proc.stderr.read()


def test_classifier_info(tmp_path):
    s = Server(tmp_path, MODELS / "bert_cls")
    try:
        status, info, _ = s.get("/info")
        assert status == 200
        assert info["model_type"] == {"classifier": {"id2label": {"0": "negative", "1": "neutral",
                                                                  "2": "positive"}}}
    finally:
        assert s.stop() == 0


def test_predict_texts_pairs_and_batches(tmp_path):
    folder = classifier_with_tokenizer(tmp_path)
    s = Server(tmp_path, folder)
    try:
        want = cli_logits(folder, "this movie was great")
        status, got, _ = s.post("/predict", {"inputs": "this movie was great"})
        assert status == 200 and [r["label"] for r in got][0] == want["label"]
        assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)
        for r in got:
            assert abs(r["score"] - want["scores"][r["label"]]) < 1e-6
        # TEI's quirk: a list of two texts is ONE pair; a batch is a list of lists.
        pair = cli_logits(folder, "this movie", "was great")
        status, got, _ = s.post("/predict", {"inputs": ["this movie", "was great"],
                                             "raw_scores": True})
        assert status == 200
        logits = {r["label"]: r["score"] for r in got}
        for k, label in enumerate(["negative", "neutral", "positive"]):
            assert abs(logits[label] - pair["logits"][k]) < 1e-6
        status, got, _ = s.post("/predict", {"inputs": [["this movie was great"],
                                                        ["this movie", "was great"]]})
        assert status == 200 and len(got) == 2 and len(got[0]) == 3
        assert got[0][0]["label"] == want["label"]
        status, body, _ = s.post("/predict", {"inputs": [["a", "b", "c"]]})
        assert status == 422 and body["error_type"] == "Validation"
    finally:
        assert s.stop() == 0


def test_rerank_sorts_by_the_cross_encoder_score(tmp_path):
    import math
    folder = one_logit_cross_encoder(tmp_path)
    s = Server(tmp_path, folder)
    try:
        texts = ["this movie was great", "i hate it", "a film", "not very good"]
        status, got, _ = s.post("/rerank", {"query": "the movie", "texts": texts,
                                            "return_text": True})
        assert status == 200 and sorted(r["index"] for r in got) == [0, 1, 2, 3]
        assert [r["score"] for r in got] == sorted((r["score"] for r in got), reverse=True)
        for r in got:
            logit = cli_logits(folder, "the movie", texts[r["index"]])["logits"][0]
            assert abs(r["score"] - 1 / (1 + math.exp(-logit))) < 1e-6
            assert r["text"] == texts[r["index"]]
        status, raw, _ = s.post("/rerank", {"query": "the movie", "texts": texts,
                                            "raw_scores": True})
        assert status == 200 and "text" not in raw[0]
        assert abs(raw[0]["score"] - cli_logits(folder, "the movie",
                                                 texts[raw[0]["index"]])["logits"][0]) < 1e-6
        status, body, _ = s.post("/rerank", {"query": "q", "texts": []})
        assert status == 422 and "empty" in body["error"]
    finally:
        assert s.stop() == 0
    # A three-label classifier is no reranker.
    s = Server(tmp_path, classifier_with_tokenizer(tmp_path / "three"))
    try:
        status, body, _ = s.post("/rerank", {"query": "q", "texts": ["a"]})
        assert status == 424 and "not a re-ranker" in body["error"]
    finally:
        assert s.stop() == 0


def test_metrics_with_tei_names(server):
    for _ in range(3):
        assert server.post("/embed", {"inputs": TEXTS})[0] == 200
    assert server.post("/embed", {"inputs": []})[0] == 422
    # A request is counted when its connection completes, which may come just
    # after the client has its response (another server thread): poll a while.
    deadline = time.monotonic() + 10
    while True:
        req = urllib.request.Request(server.url + "/metrics")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        if values["te_request_count"] >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert values["te_request_count"] >= 4
    assert values["te_request_success"] >= 3  # the warm-up never went through HTTP
    assert values['te_request_failure{err="validation"}'] >= 1
    assert values["te_request_duration_count"] == values["te_request_success"]
    buckets = [v for k, v in values.items() if k.startswith("te_request_duration_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == values["te_request_duration_count"]
    assert values["te_request_input_length_sum"] > 3 * len(TEXTS) * 2
    assert values["te_batch_next_size"] == len(TEXTS)
    assert values["sinter_ready"] == 1 and "te_queue_size" in values
