"""The model families beyond BERT through the front ends, from text:
sentence-transformers folders on XLMRobertaModel (an XLM-R style Unigram
tokenizer) and ModernBertModel (byte-level BPE), made by
scripts/make_fixtures.py --families-only, give SentenceTransformer.encode's
token ids and embeddings through the CLI and the server; so does the real
all-mpnet-base-v2 (MPNet)."""
import json
import os
import math

import pytest

from conftest import MODELS, ROOT, SINTER, golden, json_lines, max_abs_diff, run
from serve_helpers import Server

TOLERANCE = 1e-4
FOLDER = MODELS / "xlmr_st"


@pytest.mark.parametrize("name", ["xlmr_st", "modernbert_st", "qwen3_st", "gemma3_st",
                                  "deberta_st"])
def test_cli_tokenize_and_embed_match_sentence_transformers(name):
    g = golden(name)
    texts = [c["text"] for c in g["cases"]]
    toks = json_lines(run("tokenize", "--model", MODELS / name, *texts, check=0).stdout)
    assert [t["ids"] for t in toks] == [c["input_ids"] for c in g["cases"]]
    rows = json_lines(run("embed", "--model", MODELS / name, *texts, check=0).stdout)
    assert len(rows) == len(texts)
    for row, case in zip(rows, g["cases"]):
        assert max_abs_diff(row["embedding"], case["embedding"]) < TOLERANCE, case["text"]
        assert math.isclose(math.sqrt(sum(x * x for x in row["embedding"])), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize("name", ["xlmr_st", "modernbert_st", "qwen3_st", "gemma3_st",
                                  "deberta_st"])
def test_server_embed_matches_sentence_transformers(tmp_path, name):
    g = golden(name)
    texts = [c["text"] for c in g["cases"]]
    s = Server(tmp_path, MODELS / name)
    try:
        status, info, _ = s.get("/info")
        assert status == 200 and info["max_input_length"] == g["max_seq_length"]
        status, got, _ = s.post("/embed", {"inputs": texts, "truncate": True})
        assert status == 200 and len(got) == len(texts)
        for vec, case in zip(got, g["cases"]):
            assert max_abs_diff(vec, case["embedding"]) < TOLERANCE, case["text"]
    finally:
        assert s.stop() == 0


# The real all-mpnet-base-v2 (scripts/fetch_mpnet.sh): MPNet's relative
# position bias on trained weights, text to embedding.
MPNET = ROOT / ".cache" / "models" / "all-mpnet-base-v2"


def mpnet_golden():
    if not MPNET.is_dir():
        pytest.skip("all-mpnet-base-v2 is fetched by scripts/fetch_mpnet.sh")
    return golden("all_mpnet_base_v2")


def test_cli_all_mpnet_base_v2_matches_sentence_transformers():
    g = mpnet_golden()
    texts = [c["text"] for c in g["cases"]]
    toks = json_lines(run("tokenize", "--model", MPNET, *texts, check=0).stdout)
    assert [t["ids"] for t in toks] == [c["input_ids"] for c in g["cases"]]
    rows = json_lines(run("embed", "--model", MPNET, *texts, check=0).stdout)
    assert len(rows) == len(texts)
    worst = max(max_abs_diff(r["embedding"], c["embedding"]) for r, c in zip(rows, g["cases"]))
    assert worst < TOLERANCE, worst


def test_server_all_mpnet_base_v2(tmp_path):
    g = mpnet_golden()
    texts = [c["text"] for c in g["cases"]][:8]
    s = Server(tmp_path, MPNET)
    try:
        status, info, _ = s.get("/info")
        assert status == 200 and info["model_type"]["embedding"]["pooling"] == "mean"
        assert info["max_input_length"] == 384 and info["model_family"] == "mpnet"
        status, got, _ = s.post("/embed", {"inputs": texts})
        assert status == 200 and len(got) == len(texts)
        for vec, case in zip(got, g["cases"]):
            assert max_abs_diff(vec, case["embedding"]) < TOLERANCE, case["text"]
    finally:
        assert s.stop() == 0


def test_server_info_reports_lasttoken_pooling(tmp_path):
    """/info names the folder's pooling, the two newer modes included."""
    import json
    import shutil
    folder = tmp_path / "xlmr_last"
    shutil.copytree(FOLDER, folder)
    cfg = json.loads((folder / "1_Pooling" / "config.json").read_text())
    cfg.update(pooling_mode_mean_tokens=False, pooling_mode_lasttoken=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    s = Server(tmp_path, folder)
    try:
        status, info, _ = s.get("/info")
        assert status == 200 and info["model_type"]["embedding"]["pooling"] == "lasttoken"
        assert info["model_family"] == "roberta" and info["architecture"] == "XLMRobertaModel"
    finally:
        assert s.stop() == 0


def test_cli_prompts_match_sentence_transformers():
    """config_sentence_transformers.json's prompts: --prompt-name as
    encode(prompt_name=...), --prompt TEXT the same text; an unknown name is
    refused, naming it."""
    g = golden("qwen3_st")
    texts = [c["text"] for c in g["cases"]]
    folder = MODELS / "qwen3_st"
    for name, want in g["prompted"].items():
        rows = json_lines(run("embed", "--model", folder, "--prompt-name", name, *texts,
                              check=0).stdout)
        for row, vec, text in zip(rows, want, texts):
            assert row["text"] == text and max_abs_diff(row["embedding"], vec) < TOLERANCE
    prompt = json.loads((folder / "config_sentence_transformers.json").read_text())["prompts"]
    rows = json_lines(run("embed", "--model", folder, "--prompt", prompt["query"], *texts,
                          check=0).stdout)
    assert max_abs_diff(rows[0]["embedding"], g["prompted"]["query"][0]) < TOLERANCE
    proc = run("embed", "--model", folder, "--prompt-name", "passage", "x", check=1)
    assert '--prompt-name "passage"' in proc.stderr and "no prompt of that name" in proc.stderr


def test_server_prompt_name(tmp_path):
    """TEI's prompt_name on /embed and /tokenize: the model's prompt before each
    text; a name it does not define is a 422 naming it."""
    g = golden("qwen3_st")
    texts = [c["text"] for c in g["cases"]]
    s = Server(tmp_path, MODELS / "qwen3_st")
    try:
        status, got, _ = s.post("/embed", {"inputs": texts, "prompt_name": "query"})
        assert status == 200
        for vec, want in zip(got, g["prompted"]["query"]):
            assert max_abs_diff(vec, want) < TOLERANCE
        status, plain, _ = s.post("/embed", {"inputs": texts[:1]})
        assert status == 200 and max_abs_diff(plain[0], g["cases"][0]["embedding"]) < TOLERANCE
        status, toks, _ = s.post("/tokenize", {"inputs": "x", "prompt_name": "query"})
        assert status == 200 and "".join(t["text"] or "" for t in toks[0]).startswith("Instruct:")
        status, body, _ = s.post("/embed", {"inputs": "x", "prompt_name": "passage"})
        assert status == 422 and "passage" in body["error"] and "no prompt" in body["error"]
    finally:
        assert s.stop() == 0


def test_server_default_prompt_name(tmp_path):
    """--default-prompt-name: requests that name no prompt get that one; a name
    the model does not define stops the server at start, naming it."""
    g = golden("qwen3_st")
    s = Server(tmp_path, MODELS / "qwen3_st", "--default-prompt-name", "query")
    try:
        status, got, _ = s.post("/embed", {"inputs": g["cases"][0]["text"]})
        assert status == 200 and max_abs_diff(got[0], g["prompted"]["query"][0]) < TOLERANCE
    finally:
        assert s.stop() == 0
    import subprocess
    proc = subprocess.run([str(SINTER), "serve", "--model", str(MODELS / "qwen3_st"), "--port", "0",
                           "--default-prompt-name", "passage"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "SINTER_CACHE_DIR": str(tmp_path / "c")})
    assert proc.returncode != 0 and '"passage"' in proc.stderr and "no prompt" in proc.stderr


def test_cli_info_states_the_attention():
    """sinter info: the head size from the config, grouped-query heads, causal
    or bidirectional, and the sliding windows as transformers masks them."""
    out = run("info", "--model", MODELS / "gemma3_causal", check=0).stdout
    assert "attention heads:  3 (head size 10)" in out and "key/value heads:  1" in out
    assert "attention:        causal, 2 of 3 layers see 9 positions back" in out
    out = run("info", "--model", MODELS / "gemma3_base", check=0).stdout
    assert "attention:        bidirectional, 2 of 3 layers see 5 positions each side" in out
    out = run("info", "--model", MODELS / "qwen3_base", check=0).stdout
    assert "(head size 10)" in out and "attention:        causal\n" in out


def test_server_predict_deberta_matches_transformers(tmp_path):
    """DeBERTa-v3's classifier from text through /predict: single texts and
    NLI-style pairs (TEI's [[a], [a, b]] batch) through its SentencePiece
    Unigram tokenizer give transformers' token ids (/tokenize) and logits
    (raw_scores) and their softmax, labels sorted by score."""
    g = golden("deberta_cls")["texts"]
    s = Server(tmp_path, MODELS / "deberta_cls")
    try:
        status, info, _ = s.get("/info")
        assert status == 200 and info["model_family"] == "deberta-v2"
        status, toks, _ = s.post("/tokenize", {"inputs": [c["text"][0] for c in g
                                                          if len(c["text"]) == 1]})
        assert status == 200
        assert [[t["id"] for t in row] for row in toks] == \
            [c["input_ids"] for c in g if len(c["text"]) == 1]
        batch = [c["text"] for c in g]
        status, raw, _ = s.post("/predict", {"inputs": batch, "raw_scores": True})
        assert status == 200 and len(raw) == len(g)
        status, soft, _ = s.post("/predict", {"inputs": batch})
        assert status == 200 and len(soft) == len(g)
        for case, r, p in zip(g, raw, soft):
            want = dict(zip(["negative", "neutral", "positive"], case["logits"]))
            got = {x["label"]: x["score"] for x in r}
            assert got.keys() == want.keys()
            assert max(abs(got[k] - want[k]) for k in want) < TOLERANCE, case["text"]
            z = sum(math.exp(v) for v in want.values())
            assert max(abs(x["score"] - math.exp(want[x["label"]]) / z) for x in p) < TOLERANCE
            assert [x["score"] for x in p] == sorted((x["score"] for x in p), reverse=True)
        # one pair on its own (TEI: a list of two texts is one pair)
        pair = next(c for c in g if len(c["text"]) == 2)
        status, one, _ = s.post("/predict", {"inputs": pair["text"], "raw_scores": True})
        assert status == 200
        got = {x["label"]: x["score"] for x in one}
        want = dict(zip(["negative", "neutral", "positive"], pair["logits"]))
        assert max(abs(got[k] - want[k]) for k in want) < TOLERANCE
    finally:
        assert s.stop() == 0
