"""SPLADE sparse embeddings from masked-LM checkpoints: `sinter embed
--sparse` and `sinter serve --pooling splade` with TEI's POST /embed_sparse,
against sentence-transformers' SparseEncoder (tests/fixtures/golden/
roberta_splade.json, from text) and transformers (<mlm>_sparse.json, from
token ids); the refusals on a model without an MLM head."""
import json

import pytest

from conftest import MODELS, golden, ids_arg, json_lines, run
from serve_helpers import Server

SPLADE = MODELS / "roberta_splade"
TOL = 1e-4


def dense(pairs, vocab):
    """[{"index", "value"}] back to a dense list; indices strictly increasing."""
    out = [0.0] * vocab
    last = -1
    for p in pairs:
        assert set(p) == {"index", "value"} and p["index"] > last and p["value"] != 0
        last = p["index"]
        out[p["index"]] = p["value"]
    return out


def check_vector(got_pairs, want):
    got = dense(got_pairs, len(want))
    assert max(abs(a - b) for a, b in zip(got, want)) < TOL
    # the support: every clearly nonzero reference entry is listed
    assert all(g != 0 for g, w in zip(got, want) if abs(w) > TOL)


@pytest.mark.parametrize("mode", ["compiled", "eager"])
def test_cli_sparse_from_text(mode, tmp_path, monkeypatch):
    monkeypatch.setenv("SINTER_CACHE_DIR", str(tmp_path / "cache"))
    cases = golden("roberta_splade")["cases"]
    lines = json_lines(run("embed", "--model", SPLADE, "--sparse", "--mode", mode,
                           *[c["text"] for c in cases], check=0).stdout)
    assert len(lines) == len(cases)
    for line, case in zip(lines, cases):
        assert line["tokens"] == len(case["input_ids"])
        check_vector(line["sparse"], case["sparse"])


@pytest.mark.parametrize("name", ["bert_mlm", "camembert_mlm", "distilbert_mlm", "mpnet_mlm",
                                  "modernbert_mlm", "modernbert_mlm_bias", "deberta_mlm",
                                  "deberta_mlm_v3"])
def test_cli_sparse_from_ids(name, tmp_path, monkeypatch):
    monkeypatch.setenv("SINTER_CACHE_DIR", str(tmp_path / "cache"))
    case = golden(f"{name}_sparse")["cases"][0]
    types = case["token_type_ids"] or [None] * len(case["input_ids"])
    args = [ids_arg(ids, t) for ids, t in zip(case["input_ids"], types)]
    lines = json_lines(run("embed", "--model", MODELS / name, "--sparse", "--ids", *args,
                           check=0).stdout)
    for line, want in zip(lines, case["sparse"]):
        check_vector(line["sparse"], want)


def test_cli_refusals(tmp_path, monkeypatch):
    monkeypatch.setenv("SINTER_CACHE_DIR", str(tmp_path / "cache"))
    proc = run("embed", "--model", MODELS / "bert_cls", "--sparse", "--ids", "1 2 3")
    assert proc.returncode != 0 and "masked-LM head" in proc.stderr
    proc = run("embed", "--model", SPLADE, "--sparse", "--similarity", "a", "b")
    assert proc.returncode != 0 and "--sparse" in proc.stderr


def test_serve_embed_sparse(tmp_path):
    cases = golden("roberta_splade")["cases"]
    s = Server(tmp_path, [f"splade={SPLADE}"], "--pooling", "splade")
    try:
        status, body, _ = s.post("/embed_sparse", {"inputs": [c["text"] for c in cases]})
        assert status == 200 and len(body) == len(cases)
        for got, case in zip(body, cases):
            check_vector(got, case["sparse"])
        # one text is a batch of one; token ids as TEI takes them
        status, one, _ = s.post("/embed_sparse", {"inputs": cases[0]["text"]})
        assert status == 200 and one == [body[0]]
        status, by_ids, _ = s.post("/embed_sparse", {"inputs": cases[1]["input_ids"]})
        assert status == 200 and by_ids == [body[1]]
        # TEI's fields: truncate false refuses the long text
        status, err, _ = s.post("/embed_sparse", {"inputs": cases[3]["text"] + " more" * 40,
                                                  "truncate": False})
        assert status == 413, err
        status, err, _ = s.post("/embed_sparse", {"inputs": 7})
        assert status == 422 and err["error_type"] == "Validation"
        status, info, _ = s.get("/info")
        assert info["model_type"] == {"embedding": {"pooling": "splade"}}
        # dense embeddings of a SPLADE model are refused, naming the pooling
        # and the route to use, on every route that embeds
        for route, body in (("/embed", {"inputs": "no dense vector"}),
                            ("/v1/embeddings", {"input": "no dense vector"}),
                            ("/similarity", {"inputs": {"source_sentence": "a",
                                                        "sentences": ["b"]}})):
            status, err, _ = s.post(route, body)
            assert status == 424, (route, status, err)
            text = json.dumps(err)
            assert "pooling splade" in text and "/embed_sparse" in text, (route, err)
        status, err, _ = s.post("/embed", {"inputs": "no dense vector"})
        assert err["error_type"] == "Backend"
        # /embed_all (token states) is still there
        status, _, _ = s.post("/embed_all", {"inputs": "token states"})
        assert status == 200
        status, doc, _ = s.get("/openapi.json")
        assert "/embed_sparse" in doc["paths"]
    finally:
        s.stop()


def test_serve_refusals(tmp_path):
    # a masked-LM model served without --pooling splade: 424, TEI's Backend error
    s = Server(tmp_path, [f"mlm={MODELS / 'bert_mlm'}"])
    try:
        status, err, _ = s.post("/embed_sparse", {"inputs": [[1, 2, 3]]})
        assert status == 424 and err["error_type"] == "Backend"
        assert "--pooling splade" in err["error"]
    finally:
        s.stop()
    # --pooling splade on a model without an MLM head stops the server at start
    proc = run("serve", "--model", MODELS / "bert_cls", "--port", "0", "--pooling", "splade",
               timeout=120)
    assert proc.returncode != 0 and "masked-LM head" in proc.stderr
    proc = run("serve", "--model", SPLADE, "--pooling", "mean")
    assert proc.returncode != 0 and "--pooling takes splade" in proc.stderr


def test_compile_sparse_artifact(tmp_path, monkeypatch):
    monkeypatch.setenv("SINTER_CACHE_DIR", str(tmp_path / "cache"))
    art = tmp_path / "splade.sinter"
    run("compile", "--model", SPLADE, "--sparse", "-o", art, check=0)
    text = golden("roberta_splade")["cases"][0]["text"]
    from_art = json_lines(run("embed", "--model", art, "--sparse", text, check=0).stdout)
    from_dir = json_lines(run("embed", "--model", SPLADE, "--sparse", text, check=0).stdout)
    assert from_art == from_dir
    # an artifact compiled without it says so
    plain = tmp_path / "plain.sinter"
    run("compile", "--model", SPLADE, "-o", plain, check=0)
    proc = run("embed", "--model", plain, "--sparse", text)
    assert proc.returncode != 0 and "compiled without sparse" in proc.stderr
    assert "masked-LM head:   yes" in run("info", "--model", SPLADE, check=0).stdout
