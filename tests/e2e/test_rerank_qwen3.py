"""Qwen3ForCausalLM as Qwen3-Reranker (rerank_template.json) from text: `sinter
rerank` (compiled and eager, the instruction and the body overridden), the
server's TEI /rerank and Cohere/Jina /v1/rerank /v2/rerank (and the serve
flags), against the scores of the reference code in transformers
(tests/fixtures/golden/qwen3_rerank*.json; qwen3_seqcls is the same model
converted to Qwen3ForSequenceClassification); the refusals of a bad template
folder."""
import json
import shutil

import pytest

from conftest import MODELS, golden, json_lines, run
from serve_helpers import Server

TOL = 1e-4


def scores_by_index(lines):
    return {r["index"]: r["score"] for r in lines}


@pytest.mark.parametrize("name", ["qwen3_rerank", "qwen3_rerank_tied", "qwen3_seqcls"])
@pytest.mark.parametrize("mode", ["compiled", "eager"])
def test_cli_rerank_matches_reference(name, mode, tmp_path):
    g = golden(name)
    by_query = {}
    for i, c in enumerate(g["cases"]):
        by_query.setdefault(c["query"], []).append((i, c))
    for query, cases in by_query.items():
        out = run("rerank", "--model", MODELS / name, "--mode", mode, query,
                  *[c["document"] for _, c in cases], check=0)
        got = scores_by_index(json_lines(out.stdout))
        for k, (_, c) in enumerate(cases):
            assert abs(got[k] - c["score"]) < TOL, (query, c["document"], got[k], c["score"])
        ranked = [r["index"] for r in json_lines(out.stdout)]
        assert ranked == sorted(range(len(cases)), key=lambda k: -cases[k][1]["score"])


def test_cli_rerank_overrides(tmp_path):
    g = golden("qwen3_rerank")
    for flag, value, key in (("--instruction", g["other_instruction"], "other_instruction_cases"),
                             ("--template", g["other_body"], "other_body_cases")):
        for c in g[key]:
            out = run("rerank", "--model", MODELS / "qwen3_rerank", flag, value, c["query"],
                      c["document"], check=0)
            assert abs(json_lines(out.stdout)[0]["score"] - c["score"]) < TOL, (flag, c)
    # --raw-scores gives the logit of yes minus no.
    c = g["cases"][0]
    out = run("rerank", "--model", MODELS / "qwen3_rerank", "--raw-scores", c["query"],
              c["document"], check=0)
    assert abs(json_lines(out.stdout)[0]["score"] - c["logit"]) < TOL
    out = run("rerank", "--model", MODELS / "qwen3_rerank", "--template", "{query}", "q", "d")
    assert out.returncode == 2 and "{document}" in out.stderr
    out = run("rerank", "--model", MODELS / "qwen3_st", "--instruction", "x", "q", "d")
    assert out.returncode != 0 and "rerank_template.json" in out.stderr


def test_refusals(tmp_path):
    def folder(template):
        d = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        shutil.copytree(MODELS / "qwen3_rerank", d)
        (d / "rerank_template.json").write_text(template)
        return d
    cases = [('{"body": "<Query>: {query}"}', "{document}"),
             ('{"true_token": "definitely"}', 'true_token "definitely" is not a single token'),
             ('{"false_token": "no no"}', "not a single token"),
             ('{"prefix": 3}', "prefix"),
             ("{", "rerank_template.json")]
    for text, needle in cases:
        out = run("rerank", "--model", folder(text), "q", "d")
        assert out.returncode != 0 and needle in out.stderr, (text, out.stderr)
    # A template on a model without an LM head to fold (Qwen3Model).
    d = tmp_path / "embedder"
    shutil.copytree(MODELS / "qwen3_st", d)
    (d / "rerank_template.json").write_text("{}")
    out = run("rerank", "--model", d, "q", "d")
    assert out.returncode != 0 and "LM head" in out.stderr, out.stderr


def test_server_rerank_apis(tmp_path):
    g = golden("qwen3_rerank")
    query = g["cases"][0]["query"]
    cases = [c for c in g["cases"] if c["query"] == query]
    docs = [c["document"] for c in cases]
    server = Server(tmp_path, [f"rr={MODELS / 'qwen3_rerank'}", f"emb={MODELS / 'qwen3_st'}"])
    try:
        status, body, _ = server.post("/rerank", {"model": "rr", "query": query, "texts": docs})
        assert status == 200, body
        for r in body:
            assert abs(r["score"] - cases[r["index"]]["score"]) < TOL
        status, body, _ = server.post("/rerank", {"model": "rr", "query": query, "texts": docs,
                                                  "raw_scores": True})
        assert status == 200 and all(abs(r["score"] - cases[r["index"]]["logit"]) < TOL
                                     for r in body)
        for path in ("/v1/rerank", "/v2/rerank"):
            status, body, _ = server.post(path, {"model": "rr", "query": query,
                                                 "documents": docs})
            assert status == 200, body
            for r in body["results"]:
                assert abs(r["relevance_score"] - cases[r["index"]]["score"]) < TOL
        # An embedder beside it still embeds; it is no reranker.
        status, body, _ = server.post("/embed", {"model": "emb", "inputs": "hello"})
        assert status == 200
    finally:
        assert server.stop() == 0
    # The serve flags replace the folder's instruction (models without a
    # template ignore them).
    other = g["other_instruction_cases"]
    server = Server(tmp_path, [f"rr={MODELS / 'qwen3_rerank'}", f"emb={MODELS / 'qwen3_st'}"],
                    "--rerank-instruction", g["other_instruction"])
    try:
        status, body, _ = server.post("/v2/rerank", {"model": "rr", "query": query,
                                                     "documents": docs})
        assert status == 200, body
        want = {c["document"]: c["score"] for c in other if c["query"] == query}
        for r in body["results"]:
            assert abs(r["relevance_score"] - want[docs[r["index"]]]) < TOL
    finally:
        assert server.stop() == 0
    out = run("serve", "--model", MODELS / "qwen3_rerank", "--rerank-template", "{query} only")
    assert out.returncode == 2 and "{document}" in out.stderr


def st_crossencoder_folder(tmp_path, false_token_id=1498):
    """qwen3_rerank laid out as sentence-transformers 6 saves a CrossEncoder
    over a causal LM: modules Transformer and LogitScore (its token ids), the
    prompt in chat_template.jinja (already in the fixture)."""
    d = tmp_path / "st"
    shutil.copytree(MODELS / "qwen3_rerank", d)
    (d / "rerank_template.json").unlink()
    (d / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "",
         "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_LogitScore",
         "type": "sentence_transformers.cross_encoder.modules.logit_score.LogitScore"}]))
    (d / "1_LogitScore").mkdir()
    (d / "1_LogitScore" / "config.json").write_text(json.dumps(
        {"true_token_id": 1497, "false_token_id": false_token_id,
         "module_input_name": "causal_logits"}))
    (d / "sentence_bert_config.json").write_text(json.dumps(
        {"transformer_task": "text-generation", "module_output_name": "causal_logits"}))
    return d


def test_sentence_transformers_crossencoder_folder(tmp_path):
    g = golden("qwen3_rerank")
    c = g["cases"][0]
    d = st_crossencoder_folder(tmp_path)
    out = run("rerank", "--model", d, c["query"], c["document"])
    assert out.returncode != 0 and "LogitScore" in out.stderr and "rerank_template.json" in out.stderr
    (d / "rerank_template.json").write_text("{}")
    out = run("rerank", "--model", d, c["query"], c["document"], check=0)
    assert abs(json_lines(out.stdout)[0]["score"] - c["score"]) < TOL
    (d / "rerank_template.json").write_text('{"true_token": "no"}')
    out = run("rerank", "--model", d, c["query"], c["document"])
    assert out.returncode != 0 and "LogitScore module" in out.stderr, out.stderr
    # false_token_id null: the score is the true token's logit alone.
    d2 = st_crossencoder_folder(tmp_path / "b", false_token_id=None)
    (d2 / "rerank_template.json").write_text("{}")
    out = run("rerank", "--model", d2, "--raw-scores", c["query"], c["document"], check=0)
    assert abs(json_lines(out.stdout)[0]["score"] - c["logit_true"]) < TOL
