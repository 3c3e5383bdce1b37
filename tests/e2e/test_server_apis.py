"""`sinter serve` with several models in one process, and the routes beyond
TEI's embed: /embed_all, /tokenize, /decode, Cohere/Jina rerank, KServe v2,
TorchServe, OpenAI's model list, and the OpenAPI document. Each response is
checked against what the CLI computes (or another route that is)."""
import json
import urllib.request

import pytest

from conftest import (DEFAULT_MODEL, cli_embeddings, cli_logits, golden, json_lines, max_abs_diff,
                      run, sigmoid)


@pytest.fixture(scope="module")
def multi(three_models):
    return three_models


TEXTS = ["A man is playing a guitar.", "hello world", "Someone plays an instrument."]
DOCS = ["this movie was great", "i hate it", "a film", "not very good at all, sadly"]




def test_models_are_routed_by_name_and_by_what_they_do(multi):
    # No model named: embedding routes take the first encoder, /predict the first classifier.
    status, emb, _ = multi.post("/embed", {"inputs": TEXTS})
    assert status == 200 and emb == cli_embeddings(TEXTS)
    status, pred, _ = multi.post("/predict", {"inputs": "great"})
    assert status == 200 and len(pred) == 3
    status, ranked, _ = multi.post("/rerank", {"query": "q", "texts": ["a", "b"]})
    assert status == 200 and len(ranked) == 2  # the one-logit model, not cls
    # Named: the model field picks it.
    status, body, _ = multi.post("/predict", {"inputs": "great", "model": "ce"})
    assert status == 200 and len(body) == 1
    status, body, _ = multi.post("/embed", {"inputs": "x", "model": "nope"})
    assert status == 404 and body["error_type"] == "Validation" and "nope" in body["error"]
    status, body, _ = multi.post("/v1/embeddings", {"input": "x", "model": "nope"})
    assert status == 404 and body["error"]["code"] == "model_not_found"
    status, body, _ = multi.post("/predict", {"inputs": "x", "model": "minilm"})
    assert status == 424 and "not a classifier" in body["error"]
    status, info, _ = multi.get("/info?model=cls")
    assert status == 200 and info["model_id"] == "cls" and "classifier" in info["model_type"]
    status, models, _ = multi.get("/v1/models")
    assert status == 200 and [m["id"] for m in models["data"]] == ["minilm", "cls", "ce"]
    req = urllib.request.Request(multi.url + "/metrics")
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    for name in ("minilm", "cls", "ce"):
        assert f'sinter_tokens_total{{model="{name}"}}' in text
        assert f'sinter_batch_fill{{model="{name}"}}' in text


def test_every_embedding_route_matches_sentence_transformers(multi):
    """The golden SentenceTransformer.encode outputs, through each API's route."""
    cases = golden("all_minilm_l6_v2")["cases"][:16]
    texts, want = [c["text"] for c in cases], [c["embedding"] for c in cases]
    kserve = {"inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES",
                          "data": texts}]}
    got = {
        "tei": multi.post("/embed", {"inputs": texts})[1],
        "openai": [d["embedding"] for d in multi.post("/v1/embeddings", {"input": texts})[1]["data"]],
        "torchserve": [r["embedding"] for r in multi.post("/predictions/minilm", {"data": texts})[1]],
    }
    out = multi.post("/v2/models/minilm/infer", kserve)[1]["outputs"][0]["data"]
    got["kserve"] = [out[i * 384:(i + 1) * 384] for i in range(len(texts))]
    for api, rows in got.items():
        worst = max(max_abs_diff(r, w) for r, w in zip(rows, want))
        assert len(rows) == len(want) and worst < 1e-5, (api, worst)


def test_embed_all_pools_to_the_embedding(multi):
    status, tokens, _ = multi.post("/embed_all", {"inputs": TEXTS[:2]})
    assert status == 200 and len(tokens) == 2
    _, ids, _ = multi.post("/tokenize", {"inputs": TEXTS[:2]})
    assert [len(t) for t in tokens] == [len(t) for t in ids]  # every token, specials too
    assert all(len(v) == 384 for t in tokens for v in t)
    # MiniLM mean-pools every token: the mean of embed_all is the un-normalised embedding.
    _, pooled, _ = multi.post("/embed", {"inputs": TEXTS[:2], "normalize": False})
    for rows, want in zip(tokens, pooled):
        mean = [sum(col) / len(rows) for col in zip(*rows)]
        assert max(abs(a - b) for a, b in zip(mean, want)) < 1e-5
    status, by_ids, _ = multi.post("/embed_all", {"inputs": [[101, 7592, 2088, 102]]})
    _, by_text, _ = multi.post("/embed_all", {"inputs": "hello world"})
    assert status == 200 and by_ids == by_text


def test_tokenize_and_decode_match_the_tokenizer(multi):
    text = "Hello wörld! Tokenizers' offsets, ünïcode."
    status, body, _ = multi.post("/tokenize", {"inputs": text})
    assert status == 200 and len(body) == 1
    want = json_lines(run("tokenize", "--model", DEFAULT_MODEL, text, check=0).stdout)[0]
    assert [t["id"] for t in body[0]] == want["ids"]
    raw = text.encode()
    for tok, (a, b), name in zip(body[0], want["offsets"], want["tokens"]):
        if tok["special"]:
            assert tok["text"] == name and tok["start"] is None and tok["stop"] is None
        else:  # TEI's spans are in bytes (the Rust library's); the CLI prints characters
            a, b = len(text[:a].encode()), len(text[:b].encode())
            assert (tok["start"], tok["stop"]) == (a, b)
            assert tok["text"] == raw[a:b].decode()
    assert body[0][0]["special"] and body[0][-1]["special"]
    status, plain, _ = multi.post("/tokenize", {"inputs": [text, "hi"], "add_special_tokens": False})
    assert status == 200 and [t["id"] for t in plain[0]] == want["ids"][1:-1]
    assert len(plain) == 2
    ids = want["ids"]
    status, texts, _ = multi.post("/decode", {"ids": ids})
    # The Rust WordPiece decoder (TEI's): pieces joined, and each token's cleanup
    # (" !" to "!"); " ' " is never one token, so the apostrophe keeps its spaces.
    assert status == 200 and texts == ["hello world! tokenizers ' offsets, unicode."]
    status, texts, _ = multi.post("/decode", {"ids": [[101, 7592, 102], [2088]],
                                              "skip_special_tokens": False})
    assert status == 200 and texts == ["[CLS] hello [SEP]", "world"]
    status, body, _ = multi.post("/decode", {"ids": "hello"})
    assert status == 422 and body["error_type"] == "Validation"


def test_cohere_and_jina_rerank(multi, folders):
    logits = [cli_logits(folders["ce"], "the movie", d)["logits"][0] for d in DOCS]
    for path in ("/v1/rerank", "/v2/rerank"):
        status, body, _ = multi.post(path, {"model": "ce", "query": "the movie",
                                            "documents": DOCS, "return_documents": True})
        assert status == 200
        got = body["results"]
        assert sorted(r["index"] for r in got) == [0, 1, 2, 3]
        assert [r["relevance_score"] for r in got] == sorted(
            (r["relevance_score"] for r in got), reverse=True)
        for r in got:
            assert abs(r["relevance_score"] - sigmoid(logits[r["index"]])) < 1e-6
            assert r["document"] == {"text": DOCS[r["index"]]}
        assert body["usage"]["total_tokens"] > 0 and body["meta"]["api_version"]["version"] == "2"
    # Objects with "text" (Cohere v1, Jina), top_n, no documents by default.
    status, body, _ = multi.post("/v1/rerank", {"query": "the movie", "top_n": 2,
                                                "documents": [{"text": d} for d in DOCS]})
    assert status == 200 and len(body["results"]) == 2 and "document" not in body["results"][0]
    best = max(range(4), key=lambda i: logits[i])
    assert body["results"][0]["index"] == best
    # max_tokens_per_doc cuts each document to its first N tokens.
    status, body, _ = multi.post("/v2/rerank", {"query": "the movie", "documents": [DOCS[3]],
                                                "max_tokens_per_doc": 2})
    cut = cli_logits(folders["ce"], "the movie", "not very")["logits"][0]
    assert status == 200 and abs(body["results"][0]["relevance_score"] - sigmoid(cut)) < 1e-6
    status, body, _ = multi.post("/v2/rerank", {"query": "q", "documents": "not a list"})
    assert status == 400 and "documents" in body["message"]
    status, body, _ = multi.post("/v2/rerank", {"model": "cls", "query": "q", "documents": ["a"]})
    assert status == 424 and "re-ranker" in body["message"]


def test_kserve_v2(multi, folders):
    status, meta, _ = multi.get("/v2")
    assert status == 200 and meta["name"] == "sinter"
    assert multi.get("/v2/health/live")[0] == 200 and multi.get("/v2/health/ready")[0] == 200
    status, model, _ = multi.get("/v2/models/minilm")
    assert status == 200 and model["outputs"][0] == {"name": "embedding", "datatype": "FP32",
                                                     "shape": [-1, 384]}
    assert multi.get("/v2/models/minilm/ready")[1] == {"name": "minilm", "ready": True}
    status, body, _ = multi.get("/v2/models/nope")
    assert status == 404 and "nope" in body["error"]
    req = {"id": "r-1", "inputs": [{"name": "text", "shape": [3], "datatype": "BYTES",
                                    "data": TEXTS}]}
    status, body, _ = multi.post("/v2/models/minilm/infer", req)
    assert status == 200 and body["id"] == "r-1" and body["model_name"] == "minilm"
    out = body["outputs"][0]
    assert out["name"] == "embedding" and out["shape"] == [3, 384]
    want = cli_embeddings(TEXTS)
    assert [out["data"][i * 384:(i + 1) * 384] for i in range(3)] == want
    # A classifier answers logits; a cross-encoder takes a text_pair input.
    status, body, _ = multi.post("/v2/models/ce/infer", {"inputs": [
        {"name": "text", "shape": [1, 2], "datatype": "BYTES", "data": [["the movie", "the movie"]]},
        {"name": "text_pair", "shape": [2], "datatype": "BYTES", "data": DOCS[:2]}]})
    assert status == 200 and body["outputs"][0]["shape"] == [2, 1]
    for k in range(2):
        want = cli_logits(folders["ce"], "the movie", DOCS[k])["logits"][0]
        assert abs(body["outputs"][0]["data"][k] - want) < 1e-6
    bad = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a"]}]}
    status, body, _ = multi.post("/v2/models/minilm/infer", bad)
    assert status == 400 and "shape" in body["error"]
    bad = {"inputs": [{"name": "text", "shape": [1], "datatype": "INT64", "data": [1]}]}
    status, body, _ = multi.post("/v2/models/minilm/infer", bad)
    assert status == 400 and "BYTES" in body["error"]


def test_torchserve(multi, folders):
    assert multi.get("/ping")[:2] == (200, {"status": "Healthy"})
    status, body, _ = multi.request("POST", "/predictions/minilm", raw=TEXTS[0].encode(),
                                    headers={"Content-Type": "text/plain"})
    assert status == 200 and body == [{"embedding": cli_embeddings(TEXTS[:1])[0]}]
    status, body, _ = multi.post("/predictions/minilm", {"data": TEXTS})
    assert status == 200 and [r["embedding"] for r in body] == cli_embeddings(TEXTS)
    status, body, _ = multi.post("/predictions/cls", {"data": "this movie was great"})
    want = cli_logits(folders["cls"], "this movie was great")
    assert status == 200 and body[0]["label"] == want["label"]
    assert abs(body[0]["score"] - want["score"]) < 1e-6
    status, body, _ = multi.post("/predictions/nope", {"data": "x"})
    assert status == 404 and body["type"] == "ModelNotFoundException"
    status, body, _ = multi.post("/predictions/minilm", {"nothing": 1})
    assert status == 400 and body["code"] == 400


def test_openapi_lists_every_route_and_nothing_else(multi):
    status, doc, _ = multi.get("/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = {("GET", "/health"), ("GET", "/"), ("POST", "/"), ("POST", "/similarity"),
              ("POST", "/invocations"),
              ("GET", "/info"), ("GET", "/metrics"), ("GET", "/openapi.json"),
              ("POST", "/embed"), ("POST", "/embed_all"), ("POST", "/embed_sparse"),
              ("POST", "/predict"),
              ("POST", "/rerank"), ("POST", "/tokenize"), ("POST", "/decode"),
              ("POST", "/v1/embeddings"), ("POST", "/embeddings"), ("GET", "/v1/models"),
              ("POST", "/v1/rerank"), ("POST", "/v2/rerank"), ("GET", "/v2"),
              ("GET", "/v2/health/live"), ("GET", "/v2/health/ready"),
              ("GET", "/v2/models/{model}"), ("GET", "/v2/models/{model}/ready"),
              ("POST", "/v2/models/{model}/infer"), ("GET", "/ping"),
              ("POST", "/predictions/{model}")}
    assert listed == served
    for method, path in listed:  # each answers (no 404 "no route", no 405)
        status, _, _ = multi.request(method, path.replace("{model}", "minilm"),
                                     body={} if method == "POST" else None)
        assert status not in (404, 405), (method, path, status)
    assert multi.get("/embed")[0] == 405


def test_validation_names_the_field(multi):
    cases = [
        ("/embed", {"inputs": ["ok", 3]}, 422, "inputs[1]"),
        ("/embed", {"inputs": "x", "normalize": "yes"}, 422, "normalize"),
        ("/embed", {"inputs": "x", "truncation_direction": "Middle"}, 422, "truncation_direction"),
        ("/embed", {"inputs": "x", "dimensions": 385}, 422, "dimensions"),
        ("/embed", {"inputs": "x", "prompt_name": "query"}, 422, "prompt_name"),
        ("/predict", {"inputs": [["a", "b", "c"]]}, 422, "inputs[0]"),
        ("/rerank", {"query": 1, "texts": ["a"]}, 422, "query"),
    ]
    for path, body, status, field in cases:
        got, err, _ = multi.post(path, body)
        assert got == status and field in err["error"], (path, body, got, err)
    status, body, _ = multi.post("/v1/embeddings", {"input": "x", "dimensions": 1000})
    assert status == 400 and body["error"]["param"] == "dimensions"
    status, body, _ = multi.post("/embed", raw=b'{"inputs": "\xff\xfe"}')
    assert status == 422 and "UTF-8" in body["error"]
    status, body, _ = multi.post("/embed", raw=json.dumps({"inputs": ["x"] * 2049}).encode())
    assert status == 413 and "2048" in body["error"]
