"""`sinter serve` driven by the real clients people point at it, from PyPI
(pinned in scripts/setup.sh): huggingface_hub's InferenceClient (TEI's POST /
and /similarity), tritonclient.http (KServe v2 with Triton's binary tensor
data), openai, LangChain's OpenAIEmbeddings, LlamaIndex's OpenAIEmbedding,
cohere's ClientV2.rerank, and the SageMaker hosting contract (GET /ping, POST
/invocations, SAGEMAKER_BIND_TO_PORT). Every answer is checked against what
the CLI computes. One server serves the module; the routes that follow the
default model's kind get small servers of their own."""
import base64
import json
import os
import struct
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import SINTER, cli_embeddings, cli_logits, run, sigmoid
from serve_helpers import Server, free_port

TEXTS = ["A man is playing a guitar.", "hello world", "Someone plays an instrument."]
DOCS = ["this movie was great", "i hate it", "a film", "not very good at all, sadly"]
SWAGGER_UI = Path("/usr/lib/python3/dist-packages/flasgger/ui3/static")


@pytest.fixture(scope="module")
def server(three_models):
    return three_models


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def post_raw(server, path, body, headers):
    """POSTs bytes; returns (status, body bytes, headers)."""
    req = urllib.request.Request(server.url + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


# ---------------------------------------------------------------- huggingface_hub


def test_huggingface_hub_inference_client(server):
    from huggingface_hub import InferenceClient
    want = np.array(cli_embeddings(TEXTS), dtype=np.float32)
    for client in (InferenceClient(base_url=server.url), InferenceClient(model=server.url)):
        got = client.feature_extraction(TEXTS[0])  # POST / with {"inputs": "..."}
        assert got.shape == (1, 384) and np.abs(got[0] - want[0]).max() < 1e-6
        got = client.feature_extraction(TEXTS, normalize=True, truncate=True,
                                        truncation_direction="right")
        assert got.shape == (3, 384) and np.abs(got - want).max() < 1e-6
        # POST / with {"inputs": {"source_sentence", "sentences"}, "parameters": {}}
        sims = client.sentence_similarity(TEXTS[0], other_sentences=TEXTS)
        assert len(sims) == 3 and abs(sims[0] - 1) < 1e-5
        for s, w in zip(sims, want):
            assert abs(s - cosine(want[0], w)) < 1e-5
    # The unnormalised embeddings give the same cosines (TEI's /similarity uses them).
    assert abs(sims[1] - sims[2]) > 1e-3


def test_similarity_route(server):
    body = {"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS[1:]},
            "parameters": {"truncate": True, "truncation_direction": "Left"}}
    status, sims, _ = server.post("/similarity", body)
    want = cli_embeddings(TEXTS)
    assert status == 200 and len(sims) == 2
    assert all(abs(s - cosine(want[0], w)) < 1e-5 for s, w in zip(sims, want[1:]))
    assert server.post("/", body)[1] == sims  # the same on POST /
    bad = [({"inputs": {"source_sentence": "a", "sentences": []}}, "inputs.sentences"),
           ({"inputs": {"source_sentence": 1, "sentences": ["a"]}}, "inputs.source_sentence"),
           ({"inputs": {"source_sentence": "a", "sentences": ["b", 2]}}, "inputs.sentences[1]"),
           ({"inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": 3}, "parameters"),
           ({"inputs": "a"}, "inputs")]
    for body, field in bad:
        status, err, _ = server.post("/similarity", body)
        assert status == 422 and field in err["error"], (body, status, err)
    status, err, _ = server.post("/similarity", {"inputs": {"source_sentence": "a",
                                                            "sentences": ["b"] * 2048}})
    assert status == 413 and "2047" in err["error"]  # the source counts, as in TEI


def test_root_routes_follow_the_default_model(server):
    assert server.get("/")[0] == 200  # health, open
    status, emb, _ = server.post("/", {"inputs": TEXTS})
    assert status == 200 and emb == cli_embeddings(TEXTS)
    assert server.post("/invocations", {"inputs": TEXTS})[1] == emb
    status, err, _ = server.post("/", {"nothing": 1})
    assert status == 422 and "inputs" in err["error"]


def test_root_routes_on_a_classifier_and_a_reranker(tmp_path, folders):
    """POST / and /invocations take /predict's shape when the default model is
    a classifier, /rerank's when it is a re-ranker; SAGEMAKER_BIND_TO_PORT
    wins over --port."""
    sagemaker_port = free_port()
    ui = tmp_path / "ui"  # Swagger UI's files, found where SINTER_SWAGGER_UI_DIR says
    ui.mkdir()
    (ui / "swagger-ui-bundle.js").write_text("/* bundle */")
    (ui / "swagger-ui.css").write_text("/* css */")
    env = dict(os.environ, SAGEMAKER_BIND_TO_PORT=str(sagemaker_port),
               SINTER_SWAGGER_UI_DIR=str(ui))
    ce = Server(tmp_path / "ce", [f"ce={folders['ce']}"], wait=False, env=env)
    cls = Server(tmp_path / "cls", [f"cls={folders['cls']}", f"ce={folders['ce']}"])
    try:
        ce.port, ce.url = sagemaker_port, f"http://127.0.0.1:{sagemaker_port}"
        ce.wait_ready()
        assert ce.get("/ping")[:2] == (200, {"status": "Healthy"})
        with urllib.request.urlopen(ce.url + "/docs/swagger-ui.css", timeout=30) as r:
            assert r.read() == b"/* css */"
        logits = [cli_logits(folders["ce"], "the movie", d)["logits"][0] for d in DOCS]
        for path in ("/", "/invocations"):
            status, ranks, _ = ce.post(path, {"query": "the movie", "texts": DOCS})
            assert status == 200 and sorted(r["index"] for r in ranks) == [0, 1, 2, 3]
            for r in ranks:
                assert abs(r["score"] - sigmoid(logits[r["index"]])) < 1e-6
        want = cli_logits(folders["cls"], "this movie was great")
        for path in ("/", "/invocations"):
            status, pred, _ = cls.post(path, {"inputs": "this movie was great"})
            assert status == 200 and pred[0]["label"] == want["label"]
            assert abs(pred[0]["score"] - want["score"]) < 1e-6
    finally:
        assert ce.stop() == 0 and cls.stop() == 0
    assert "SAGEMAKER_BIND_TO_PORT" in ce.proc.stderr.read()
    env["SAGEMAKER_BIND_TO_PORT"] = "http"
    bad = subprocess.run([str(SINTER), "serve", "--model", str(folders["ce"])], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "SAGEMAKER_BIND_TO_PORT=http is not a port" in bad.stderr


# ---------------------------------------------------------------- tritonclient


def test_tritonclient_binary_tensors(server, folders):
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException
    client = httpclient.InferenceServerClient(url=server.url[len("http://"):])
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("minilm")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    want = np.array(cli_embeddings(TEXTS), dtype=np.float32)
    text = httpclient.InferInput("text", [3], "BYTES")
    text.set_data_from_numpy(np.array(TEXTS, dtype=object))  # binary by default
    # No outputs named: tritonclient asks binary_data_output for all.
    result = client.infer("minilm", [text], request_id="t-1")
    assert result.get_response()["id"] == "t-1"
    got = result.as_numpy("embedding")
    assert got.dtype == np.float32 and got.shape == (3, 384) and np.abs(got - want).max() < 1e-6
    # A JSON output for a binary input, and a binary output for a JSON input.
    out = httpclient.InferRequestedOutput("embedding", binary_data=False)
    got = client.infer("minilm", [text], outputs=[out]).as_numpy("embedding")
    assert np.abs(got - want).max() < 1e-6
    text.set_data_from_numpy(np.array(TEXTS, dtype=object), binary_data=False)
    out = httpclient.InferRequestedOutput("embedding", binary_data=True)
    got = client.infer("minilm", [text], outputs=[out]).as_numpy("embedding")
    assert np.abs(got - want).max() < 1e-6
    # A cross-encoder with both inputs binary (the pair first, as a client may send them).
    query = httpclient.InferInput("text", [2], "BYTES")
    query.set_data_from_numpy(np.array(["the movie", "the movie"], dtype=object))
    pair = httpclient.InferInput("text_pair", [2], "BYTES")
    pair.set_data_from_numpy(np.array([d.encode() for d in DOCS[:2]], dtype=object))
    logits = client.infer("ce", [pair, query]).as_numpy("logits")
    assert logits.shape == (2, 1)
    for k in range(2):
        assert abs(logits[k, 0] - cli_logits(folders["ce"], "the movie", DOCS[k])["logits"][0]) < 1e-6
    # Non-ASCII text arrives intact.
    text = httpclient.InferInput("text", [1], "BYTES")
    text.set_data_from_numpy(np.array(["été 🤗 hugging"], dtype=object))
    got = client.infer("minilm", [text]).as_numpy("embedding")
    assert np.abs(got[0] - cli_embeddings(["été 🤗 hugging"])[0]).max() < 1e-6
    with pytest.raises(InferenceServerException, match='no output "logits"'):
        client.infer("minilm", [text], outputs=[httpclient.InferRequestedOutput("logits")])


def kserve_body(inputs, tail=b"", outputs=None, params=None):
    """A binary-data request: JSON header, then the inputs' bytes and `tail`."""
    head = {"inputs": [{"name": n, "shape": s, "datatype": "BYTES",
                        "parameters": {"binary_data_size": len(b)}} for n, s, b in inputs]}
    if outputs is not None:
        head["outputs"] = outputs
    if params is not None:
        head["parameters"] = params
    js = json.dumps(head).encode()
    return js, js + b"".join(b for _, _, b in inputs) + tail


def elements(*texts):
    return b"".join(struct.pack("<I", len(t)) + t for t in texts)


def test_kserve_binary_data_is_checked(server):
    """Untrusted bytes: each size is checked before it is read, and a bad
    request gets a 400 that says what does not add up."""
    def post(body, header):
        headers = {"Content-Type": "application/octet-stream"}
        if header is not None:
            headers["Inference-Header-Content-Length"] = str(header)
        status, data, hdrs = post_raw(server, "/v2/models/minilm/infer", body, headers)
        return status, data, hdrs

    good = elements(b"hello world", b"a film")
    js, body = kserve_body([("text", [2], good)], params={"binary_data_output": True})
    status, data, hdrs = post(body, len(js))
    assert status == 200, data
    n = int(hdrs["Inference-Header-Content-Length"])
    head = json.loads(data[:n])
    out = head["outputs"][0]
    assert out["parameters"]["binary_data_size"] == 2 * 384 * 4 and "data" not in out
    got = np.frombuffer(data[n:], dtype="<f4").reshape(out["shape"])
    assert np.abs(got - np.array(cli_embeddings(["hello world", "a film"]))).max() < 1e-6

    cases = [
        (body, len(body) + 1, "Inference-Header-Content-Length"),  # past the body
        (body, "12a", "Inference-Header-Content-Length"),
        (body, "-5", "Inference-Header-Content-Length"),
        (body, len(js) - 3, "not valid JSON"),  # the JSON cut
        (kserve_body([("text", [2], good)])[1], None, "no Inference-Header-Content-Length"),
        (body + b"xx", len(js), "2 of them unread"),  # bytes no input claims
        (body[:-4], len(js), "binary_data_size"),  # an input larger than what is left
    ]
    js2, b2 = kserve_body([("text", [2], good[:-2])])  # the last element cut short
    cases.append((b2, len(js2), "element 1 says it has 6 bytes"))
    js2, b2 = kserve_body([("text", [1], b"\x05\x00")])  # a length prefix cut short
    cases.append((b2, len(js2), "4-byte length is cut short"))
    js2, b2 = kserve_body([("text", [1], elements(b"a\x00b"))])
    cases.append((b2, len(js2), "NUL"))
    js2, b2 = kserve_body([("text", [1], elements(b"\xff\xfe"))])
    cases.append((b2, len(js2), "UTF-8"))
    js2, b2 = kserve_body([("text", [3], good)])
    cases.append((b2, len(js2), "`shape` holds 3 elements but the binary data has 2"))
    js2, b2 = kserve_body([("text", [0], b"")])
    cases.append((b2, len(js2), "empty"))
    js2, b2 = kserve_body([("text", [1], elements(b"x") + struct.pack("<I", 0xFFFFFFFF))])
    cases.append((b2, len(js2), "says it has 4294967295 bytes"))
    head = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"],
                        "parameters": {"binary_data_size": 5}}]}
    js2 = json.dumps(head).encode()
    cases.append((js2 + elements(b"x"), len(js2), "both `data` and `binary_data_size`"))
    js2, b2 = kserve_body([("text", [1], elements(b"x"))],
                          outputs=[{"name": "embedding", "parameters": {"classification": 2}}])
    cases.append((b2, len(js2), "classification extension"))
    js2, b2 = kserve_body([("text", [1], elements(b"x"))],
                          outputs=[{"name": "embedding"}, {"name": "logits"}])
    cases.append((b2, len(js2), "each model here has one"))
    for body_, header, words in cases:
        status, data, _ = post(body_, header)
        assert status == 400 and words in json.loads(data)["error"], (header, words, data)
    # More elements than a request may hold: refused before they are all read.
    js2, b2 = kserve_body([("text", [3000], elements(*[b"a"] * 3000))])
    status, data, _ = post(b2, len(js2))
    assert status == 413 and "2048" in json.loads(data)["error"]
    assert server.get("/health")[0] == 200


# ---------------------------------------------------------------- OpenAI and friends


def test_openai_client(server):
    import openai
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    want = cli_embeddings(TEXTS)
    # The client's default asks base64 and decodes it; asked explicitly, it is
    # handed over as sent.
    for fmt in (openai.NOT_GIVEN, "float", "base64"):
        r = client.embeddings.create(model="minilm", input=TEXTS, encoding_format=fmt)
        got = np.array([np.frombuffer(base64.b64decode(d.embedding), "<f4")
                        if isinstance(d.embedding, str) else d.embedding for d in r.data])
        assert got.shape == (3, 384) and np.abs(got - np.array(want)).max() < 1e-6
    assert r.model == "minilm" and r.usage.prompt_tokens > 0
    r = client.embeddings.create(model="minilm", input=[[101, 7592, 2088, 102]])
    assert np.abs(np.array(r.data[0].embedding) - np.array(cli_embeddings(["hello world"])[0])).max() < 1e-6
    # Another tokenizer's ids (what LangChain sends by default): 422 naming the id.
    with pytest.raises(openai.UnprocessableEntityError) as e:
        client.embeddings.create(model="minilm", input=[[101, 7592], [100257, 5]])
    assert "token id 100257 in `input[1]` is outside the vocabulary" in str(e.value)
    with pytest.raises(openai.BadRequestError, match="not a token id"):
        client.embeddings.create(model="minilm", input=[[101, 2 ** 40]])
    status, body, _ = server.post("/embed", {"inputs": [101, 40000]})
    assert status == 422 and body["error_type"] == "Tokenizer" and "token id 40000" in body["error"]


def test_langchain_openai_embeddings(server):
    from langchain_openai import OpenAIEmbeddings
    # check_embedding_ctx_length=False: LangChain's default sends tiktoken's token
    # ids (and tiktoken downloads its tables); sinter takes text.
    emb = OpenAIEmbeddings(model="minilm", base_url=server.url + "/v1", api_key="unused",
                           check_embedding_ctx_length=False)
    want = np.array(cli_embeddings(TEXTS))
    assert np.abs(np.array(emb.embed_documents(TEXTS)) - want).max() < 1e-6
    assert np.abs(np.array(emb.embed_query(TEXTS[1])) - want[1]).max() < 1e-6


def test_llama_index_openai_embedding(server):
    from llama_index.embeddings.openai import OpenAIEmbedding
    emb = OpenAIEmbedding(model_name="minilm", api_base=server.url + "/v1", api_key="unused")
    want = np.array(cli_embeddings(TEXTS))
    assert np.abs(np.array(emb.get_text_embedding_batch(TEXTS)) - want).max() < 1e-6
    assert np.abs(np.array(emb.get_query_embedding(TEXTS[2])) - want[2]).max() < 1e-6


def test_cohere_client_v2_rerank(server, folders):
    import cohere
    co = cohere.ClientV2(api_key="unused", base_url=server.url)
    logits = [cli_logits(folders["ce"], "the movie", d)["logits"][0] for d in DOCS]
    r = co.rerank(model="ce", query="the movie", documents=DOCS, top_n=3)
    assert len(r.results) == 3
    scores = [x.relevance_score for x in r.results]
    assert scores == sorted(scores, reverse=True)
    assert r.results[0].index == max(range(4), key=lambda i: logits[i])
    for x in r.results:
        assert abs(x.relevance_score - sigmoid(logits[x.index])) < 1e-6
    with pytest.raises(cohere.core.api_error.ApiError) as e:
        co.rerank(model="minilm", query="q", documents=["a"])
    assert e.value.status_code == 424 and "re-ranker" in str(e.value.body)


# ---------------------------------------------------------------- Swagger UI


def test_swagger_ui(server, tmp_path, folders):
    status, page, _ = server.request("GET", "/docs")
    if not (SWAGGER_UI / "swagger-ui-bundle.js").exists():  # not installed: says what to install
        assert status == 404 and "python3-flasgger" in page["error"]
        return
    req = urllib.request.Request(server.url + "/docs")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
        html = r.read().decode()
    assert "/docs/swagger-ui-bundle.js" in html and '"/openapi.json"' in html
    for name, kind in (("swagger-ui-bundle.js", "application/javascript"),
                       ("swagger-ui.css", "text/css")):
        with urllib.request.urlopen(server.url + "/docs/" + name, timeout=30) as r:
            assert r.headers["Content-Type"].startswith(kind)
            assert r.read() == (SWAGGER_UI / name).read_bytes()
    for name in ("swagger-ui.js.map", "..%2F..%2Fetc%2Fpasswd", "lib"):
        assert server.get("/docs/" + name)[0] == 404
    assert server.get("/docs/a/b")[0] == 404
