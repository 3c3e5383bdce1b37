"""The CLI end to end: usage and exit codes, info, graph, embed and classify
against Hugging Face reference outputs."""
import math
import os
import subprocess

import pytest

from conftest import (DEFAULT_MODEL, MODELS, ROOT, SINTER, case_args,
                      classifier_with_tokenizer, cli_logits, golden, ids_arg, json_lines,
                      max_abs_diff, one_logit_cross_encoder, run)

TOLERANCE = 1e-4


@pytest.mark.parametrize("command", ["info", "embed", "classify", "rerank", "graph", "tokenize",
                                     "compile", "inspect", "cache", "bench", "profile"])
def test_help_for_every_subcommand(command):
    out = run(command, "--help", check=0).stdout
    assert out.startswith("usage: sinter " + command)


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert "unknown command" in run("frobnicate", check=2).stderr
    assert "--model is required" in run("embed", "hello", check=2).stderr
    assert "unknown option" in run("embed", "--model", "x", "--bogus", check=2).stderr
    assert "unknown pooling" in run("embed", "--model", "x", "--pool", "median", check=2).stderr
    assert run("embed", "--model", "x", "--threads", "0", check=2)


def test_info_reports_architecture_and_labels():
    out = run("info", "--model", MODELS / "bert_cls", check=0).stdout
    assert "BertForSequenceClassification" in out
    assert "0=negative 1=neutral 2=positive" in out
    out = run("info", "--model", MODELS / "distilbert_cls", check=0).stdout
    assert "distilbert" in out and "0=NEG 1=POS" in out
    out = run("info", "--model", MODELS / "bert_gelu_new_st", check=0).stdout
    assert "mean + L2 normalize" in out and "max seq length:   48" in out


def test_graph_prints_verified_unfused_graph():
    out = run("graph", "--model", MODELS / "bert_cls", check=0).stdout
    assert "masked_softmax" in out and "gelu" in out and "output logits" in out
    assert out.rstrip().endswith("verified")


@pytest.mark.parametrize("name", ["bert_cls", "distilbert_cls", "roberta_cls", "mpnet_cls",
                                  "modernbert_cls", "deberta_cls"])
def test_classify_matches_transformers(name):
    g = golden(name)
    for case in g["cases"]:
        args = ["classify", "--model", MODELS / name, "--ids"]
        args += case_args(case)
        rows = json_lines(run(*args, check=0).stdout)
        assert len(rows) == len(case["logits"])
        for row, want in zip(rows, case["logits"]):
            assert max_abs_diff(row["logits"], want) < TOLERANCE
            best = max(range(len(want)), key=lambda k: want[k])
            assert row["label"] == list(row["scores"])[best]
            assert math.isclose(sum(row["scores"].values()), 1.0, rel_tol=1e-5)


def test_classify_refuses_an_encoder():
    proc = run("classify", "--model", MODELS / "bert_mlm", "--ids", "1 2 3", check=1)
    assert "no classification head" in proc.stderr


PAIRS = [("this movie", "was great"), ("i hate it", "a film"), ("the film", "not very good")]


def test_classify_pair_equals_the_ids_of_the_tokenized_pair(tmp_path):
    folder = classifier_with_tokenizer(tmp_path)
    rows = json_lines(run("classify", "--model", folder, "--pair",
                          *[t for p in PAIRS for t in p], check=0).stdout)
    assert [(r["index"], r["text"], r["pair"]) for r in rows] == [
        (k, t, p) for k, (t, p) in enumerate(PAIRS)]
    for row, (text, pair) in zip(rows, PAIRS):
        want = cli_logits(folder, text, pair)
        assert max_abs_diff(row["logits"], want["logits"]) < 1e-5
        assert row["label"] == want["label"]
        # The second segment's type ids reach the session: without them the
        # same ids give other logits.
        enc = json_lines(run("tokenize", "--model", folder, "--pair", text, pair,
                             check=0).stdout)[0]
        assert 1 in enc["type_ids"]
        plain = json_lines(run("classify", "--model", folder, "--ids", ids_arg(enc["ids"]),
                               check=0).stdout)[0]
        assert max_abs_diff(row["logits"], plain["logits"]) > 1e-4
    # The order of the two texts matters.
    swapped = json_lines(run("classify", "--model", folder, "--pair", PAIRS[0][1], PAIRS[0][0],
                             check=0).stdout)[0]
    assert max_abs_diff(swapped["logits"], rows[0]["logits"]) > 1e-4
    # Without --pair the texts are inputs of their own, with no "pair".
    single = json_lines(run("classify", "--model", folder, *PAIRS[0], check=0).stdout)
    assert len(single) == 2 and "pair" not in single[0]


def test_classify_pair_reads_tab_separated_stdin_lines(tmp_path):
    folder = classifier_with_tokenizer(tmp_path)
    want = json_lines(run("classify", "--model", folder, "--pair",
                          *[t for p in PAIRS for t in p], check=0).stdout)
    stdin = "".join(f"{t}\t{p}\n" for t, p in PAIRS)
    got = json_lines(run("classify", "--model", folder, "--pair", stdin=stdin, check=0).stdout)
    assert [(r["index"], r["text"], r["pair"]) for r in got] == [
        (r["index"], r["text"], r["pair"]) for r in want]
    for g, w in zip(got, want):
        assert max_abs_diff(g["logits"], w["logits"]) < 1e-5
    # Split at the first TAB only; a line without one is named and skipped.
    proc = run("classify", "--model", folder, "--pair", stdin="this movie\twas great\n"
               "no tab here\nthe film\tnot\tvery good\r\n", check=1)
    assert "stdin line 2 has no TAB" in proc.stderr and "1 input(s) failed" in proc.stderr
    rows = json_lines(proc.stdout)
    assert [(r["index"], r["text"], r["pair"]) for r in rows] == [
        (0, "this movie", "was great"), (2, "the film", "not\tvery good")]


def test_classify_pair_usage_errors():
    m = MODELS / "bert_cls"
    err = run("classify", "--model", m, "--pair", "a", "b", "c", check=2).stderr
    assert "3 texts" in err and "odd" in err
    assert "--pair takes texts" in run("classify", "--model", m, "--pair", "--ids", "1 2",
                                       check=2).stderr


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


DOCS = ["this movie was great", "i hate it", "a film", "not very good", "the film is ok"]


def test_rerank_sorts_by_the_sigmoid_of_the_pair_logit(tmp_path):
    folder = one_logit_cross_encoder(tmp_path)
    rows = json_lines(run("rerank", "--model", folder, "the movie", *DOCS, check=0).stdout)
    assert sorted(r["index"] for r in rows) == list(range(len(DOCS)))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert len({r["score"] for r in rows}) > 1
    logits = {}
    for r in rows:
        assert r["text"] == DOCS[r["index"]] and list(r) == ["index", "score", "text"]
        logits[r["index"]] = cli_logits(folder, "the movie", DOCS[r["index"]])["logits"]
        assert len(logits[r["index"]]) == 1
        assert abs(r["score"] - sigmoid(logits[r["index"]][0])) < 1e-6
    # The same from classify --pair, and with the query second, other scores.
    pairs = json_lines(run("classify", "--model", folder, "--pair",
                           *[t for d in DOCS for t in ("the movie", d)], check=0).stdout)
    for p in pairs:
        assert abs(p["logits"][0] - logits[p["index"]][0]) < 1e-5
    flipped = json_lines(run("classify", "--model", folder, "--pair", DOCS[0], "the movie",
                             check=0).stdout)[0]
    assert abs(flipped["logits"][0] - logits[0][0]) > 1e-4
    # --top-n keeps the first N; --raw-scores prints the logit.
    top = json_lines(run("rerank", "--model", folder, "--top-n", "2", "the movie", *DOCS,
                         check=0).stdout)
    assert top == rows[:2]
    raw = json_lines(run("rerank", "--model", folder, "--raw-scores", "the movie", *DOCS,
                         check=0).stdout)
    assert [r["index"] for r in raw] == [r["index"] for r in rows]
    for r in raw:
        assert abs(r["score"] - logits[r["index"]][0]) < 1e-5
    # Documents from stdin lines, one per line.
    got = json_lines(run("rerank", "--model", folder, "the movie", stdin="\n".join(DOCS) + "\n",
                         check=0).stdout)
    assert [(r["index"], r["text"]) for r in got] == [(r["index"], r["text"]) for r in rows]
    # Ties keep the input order.
    tied = json_lines(run("rerank", "--model", folder, "the movie", "a film", "i hate it",
                          "a film", check=0).stdout)
    films = [r["index"] for r in tied if r["text"] == "a film"]
    assert films == [0, 2]


def test_rerank_refuses_all_but_one_logit_models(tmp_path):
    proc = run("rerank", "--model", classifier_with_tokenizer(tmp_path), "q", "a", check=1)
    assert "unsupported" in proc.stderr and "3 labels" in proc.stderr and "cls_tok" in proc.stderr
    assert proc.stdout == ""
    proc = run("rerank", "--model", MODELS / "bert_mlm", "q", "a", check=1)
    assert "unsupported" in proc.stderr and "no classification head" in proc.stderr
    assert "bert_mlm" in proc.stderr


def test_rerank_usage_errors():
    m = MODELS / "bert_cls"
    assert "QUERY is required" in run("rerank", "--model", m, check=2).stderr
    assert "--top-n" in run("rerank", "--model", m, "--top-n", "0", "q", "d", check=2).stderr
    assert "rerank takes texts" in run("rerank", "--model", m, "--ids", "q", "1 2",
                                       check=2).stderr
    assert "--model is required" in run("rerank", "q", "d", check=2).stderr


@pytest.mark.parametrize("name", ["bert_gelu_new_st", "xlmr_base", "camembert_mlm",
                                  "mpnet_base", "modernbert_base"])
@pytest.mark.parametrize("pool", ["cls", "mean", "max", "mean_sqrt_len", "lasttoken",
                                  "weightedmean"])
def test_embed_pooling_modes(pool, name):
    g = golden(name)
    if pool not in g["cases"][0]["pooled"]:
        pytest.skip(f"{name}'s golden predates {pool} pooling")
    for case in g["cases"]:
        args = ["embed", "--model", MODELS / name, "--ids", "--pool", pool,
                "--no-normalize"] + case_args(case)
        rows = json_lines(run(*args, check=0).stdout)
        for row, want in zip(rows, case["pooled"][pool]):
            assert max_abs_diff(row["embedding"], want) < TOLERANCE


def test_info_names_the_family():
    out = run("info", "--model", MODELS / "xlmr_base", check=0).stdout
    assert "roberta" in out and "XLMRobertaModel" in out
    # 32 positions from the padding offset 2: 30 tokens.
    assert "max seq length:   30" in out
    proc = run("embed", "--model", MODELS / "xlmr_base", "--ids", " ".join(["5"] * 31), check=1)
    assert "at most 30" in proc.stderr


def test_embed_uses_folder_pooling_and_normalize_by_default():
    case = golden("bert_gelu_new_st")["cases"][2]
    rows = json_lines(run("embed", "--model", MODELS / "bert_gelu_new_st", "--ids",
                          *case_args(case), check=0).stdout)
    for row, mean in zip(rows, case["pooled"]["mean"]):
        norm = math.sqrt(sum(x * x for x in mean))
        assert max_abs_diff(row["embedding"], [x / norm for x in mean]) < TOLERANCE


def test_embed_reads_stdin_lines():
    case = golden("bert_sharded")["cases"][0]
    stdin = "\n".join(case_args(case)) + "\n"
    rows = json_lines(run("embed", "--model", MODELS / "bert_sharded", "--ids", "--pool", "cls",
                          "--no-normalize", stdin=stdin, check=0).stdout)
    assert [r["index"] for r in rows] == list(range(len(case["input_ids"])))
    for row, want in zip(rows, case["pooled"]["cls"]):
        assert max_abs_diff(row["embedding"], want) < TOLERANCE


def test_default_model_matches_sentence_transformers():
    g = golden("all_minilm_l6_v2")
    stdin = "\n".join(ids_arg(c["input_ids"]) for c in g["cases"]) + "\n"
    rows = json_lines(run("embed", "--model", DEFAULT_MODEL, "--ids", stdin=stdin,
                          check=0).stdout)
    worst = max(max_abs_diff(r["embedding"], c["embedding"]) for r, c in zip(rows, g["cases"]))
    print(f"all-MiniLM-L6-v2 via CLI: max abs diff {worst:.3g}")
    assert len(rows) == len(g["cases"]) and worst < TOLERANCE


def test_similarity_matrix():
    out = run("embed", "--model", MODELS / "bert_cls", "--ids", "--similarity", "1 2 3", "1 2 4",
              check=0).stdout
    assert "cosine similarity of 2 inputs" in out
    assert " 1.000" in out


def test_bad_token_inputs():
    m = MODELS / "bert_cls"
    assert "outside the vocabulary" in run("embed", "--model", m, "--ids", "1 999", check=1).stderr
    assert "not a token id" in run("embed", "--model", m, "--ids", "1 x", check=1).stderr
    assert "no token ids" in run("embed", "--model", m, "--ids", " ", check=1).stderr
    assert "2 token ids but 1 token type ids" in run("embed", "--model", m, "--ids", "1 2 | 0",
                                                     check=1).stderr
    assert "token type 2 is outside" in run("embed", "--model", m, "--ids", "1 2 | 0 2",
                                            check=1).stderr
    long = ids_arg([1] * 65)
    assert "at most 64" in run("embed", "--model", m, "--ids", long, check=1).stderr


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_default_model_text_matches_sentence_transformers(mode, tmp_path):
    """Text in (our tokenizer), embeddings out, against SentenceTransformer.encode."""
    g = golden("all_minilm_l6_v2")
    cases = [c for c in g["cases"] if "\n" not in c["text"]]
    texts = [c["text"] for c in cases]
    env = dict(os.environ, SINTER_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([str(SINTER), "embed", "--model", str(DEFAULT_MODEL), "--mode", mode],
                          input="\n".join(texts) + "\n", capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    assert [r["tokens"] for r in rows] == [len(c["input_ids"]) for c in cases]
    worst = max(max_abs_diff(r["embedding"], c["embedding"]) for r, c in zip(rows, cases))
    print(f"all-MiniLM-L6-v2 text, {mode}: max abs diff {worst:.3g}")
    assert worst < TOLERANCE


def test_tokenize_default_model():
    rows = json_lines(run("tokenize", "--model", DEFAULT_MODEL, "Hello, world!", check=0).stdout)
    assert rows[0]["ids"] == [101, 7592, 1010, 2088, 999, 102]
    assert rows[0]["tokens"][1] == "hello" and rows[0]["offsets"][1] == [0, 5]


def test_tokenize_byte_level_bpe():
    """The RoBERTa-style fixture (byte-level BPE, RobertaProcessing); the
    expected values are what Hugging Face `tokenizers` gives for the file."""
    folder = ROOT / "tests" / "fixtures" / "tokenizer" / "roberta"
    rows = json_lines(run("tokenize", "--model", folder, "Hello, world! café 東京 <mask>",
                          check=0).stdout)
    assert rows[0]["ids"] == [0, 44, 1463, 16, 992, 5, 277, 69, 74, 284, 225, 167, 256, 114, 165,
                              123, 110, 4, 2]
    assert rows[0]["offsets"][4] == [7, 12] and rows[0]["offsets"][10] == [19, 19]
    assert rows[0]["offsets"][11:14] == [[19, 20]] * 3 and rows[0]["offsets"][17] == [22, 28]
    rows = json_lines(run("tokenize", "--model", folder, "--pair", "it's", " two  spaces ",
                          check=0).stdout)
    assert rows[0]["ids"] == [0, 290, 685, 2, 2, 262, 91, 83, 225, 292, 84, 440, 300, 225, 2]
    assert set(rows[0]["type_ids"]) == {0}
    assert rows[0]["offsets"][5:] == [[1, 2], [2, 3], [3, 4], [5, 5], [6, 7], [7, 8], [8, 10],
                                      [10, 12], [13, 13], [0, 0]]


def test_text_without_tokenizer_is_a_clear_error():
    proc = run("embed", "--model", MODELS / "bert_cls", "--mode", "eager", "hello", check=1)
    assert "no tokenizer" in proc.stderr and "--ids" in proc.stderr


def test_invalid_utf8_text_names_the_offset():
    proc = subprocess.run([str(SINTER), "embed", "--model", str(DEFAULT_MODEL), "--mode", "eager"],
                          input=b"ok\nbad \xff text\n", capture_output=True, timeout=300)
    assert proc.returncode == 1
    assert b"input 1" in proc.stderr and b"byte offset 4" in proc.stderr


def test_bench_json_and_breakdown():
    import json as _json
    out = run("bench", "--model", MODELS / "bert_cls", "--batch", "3", "--seq", "8", "--iters",
              "2", "--warmup", "1", "--json", check=0).stdout
    row = _json.loads(out.splitlines()[-1])
    assert row["mode"] == "compiled" and row["tokens"] == 24 and row["seq_per_s"] > 0
    out = run("bench", "--model", MODELS / "distilbert_cls", "--lengths", "lognormal", "--batch",
              "5", "--iters", "2", "--breakdown", check=0).stdout
    assert "attention" in out and "linear" in out and "% of the" in out
    peaks = run("bench", "--peak", "--threads", "1", check=0).stdout
    assert "fp32 FMA peak" in peaks and "int8 dot-product peak" in peaks and "bf16" in peaks
    assert "unknown --config" in run("bench", "--config", "bert-huge", check=1).stderr


def test_bench_synthetic_qwen3(tmp_path):
    """--config qwen3-0.6b is Qwen3-Embedding-0.6B's shape with random weights. One
    layer here (SINTER_SYNTH_LAYERS, in a folder of its own name), so the test writes
    0.7 GB (the 151669 x 1024 embedding table is most of it), not 2.4; a bad override
    is refused by name."""
    import json as _json
    import struct
    env = dict(os.environ, TMPDIR=str(tmp_path), SINTER_SYNTH_LAYERS="1")
    cmd = [str(SINTER), "bench", "--config", "qwen3-0.6b", "--batch", "2", "--seq", "8",
           "--iters", "1", "--warmup", "0", "--json"]
    folder = tmp_path / "sinter-synth-qwen3-0.6b-1l"
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        row = _json.loads(proc.stdout.splitlines()[-1])
        assert row["model"] == str(folder) and row["tokens"] == 16 and row["seq_per_s"] > 0
        cfg = _json.loads((folder / "config.json").read_text())
        assert cfg["model_type"] == "qwen3" and cfg["architectures"] == ["Qwen3Model"]
        assert [cfg[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                 "num_key_value_heads", "head_dim", "intermediate_size",
                                 "vocab_size", "rope_theta", "rms_norm_eps")] == \
            [1024, 1, 16, 8, 128, 3072, 151669, 1e6, 1e-6]
        with open(folder / "model.safetensors", "rb") as f:
            header = _json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        shapes = {k: v["shape"] for k, v in header.items()}
        assert len(shapes) == 13 and shapes["embed_tokens.weight"] == [151669, 1024]
        assert shapes["layers.0.self_attn.q_proj.weight"] == [2048, 1024]
        assert shapes["layers.0.self_attn.k_proj.weight"] == [1024, 1024]
        assert shapes["layers.0.self_attn.o_proj.weight"] == [1024, 2048]
        assert shapes["layers.0.self_attn.q_norm.weight"] == [128]
        assert shapes["layers.0.mlp.down_proj.weight"] == [1024, 3072]
        bad = subprocess.run(cmd, env=dict(env, SINTER_SYNTH_LAYERS="0"), capture_output=True,
                             text=True, timeout=60)
        assert bad.returncode == 1 and "SINTER_SYNTH_LAYERS" in bad.stderr
    finally:  # 0.7 GB: not left for pytest's kept temporary folders
        if (folder / "model.safetensors").exists():
            (folder / "model.safetensors").unlink()


def test_bench_reports_dtype_lengths_and_idle_cpu():
    """The JSON row names the plan's dtype and the lengths drawn: the log-normal
    draw is the one bench/peers/common.py reproduces, so peers see the same
    batch. --idle measures the CPU the process burns while its thread pool is
    idle: with the CLI's OpenMP wait policy it must stay far below one core."""
    import json as _json
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench", "peers"))
    from common import lognormal_lengths
    out = run("bench", "--model", MODELS / "bert_cls", "--lengths", "lognormal", "--batch", "12",
              "--iters", "2", "--warmup", "1", "--json", "--idle", "1", check=0).stdout
    row = _json.loads(out.splitlines()[-1])
    assert row["dtype"] == "f32" and row["threads"] >= 1
    assert row["lengths"] == lognormal_lengths(12, max_len=64)  # bert_cls: 64 positions
    assert row["idle_s"] == 1.0 and row["idle_core_share"] < 0.25
    row = _json.loads(run("bench", "--model", MODELS / "bert_cls", "--dtype", "int8", "--batch",
                          "2", "--seq", "8", "--iters", "1", "--json", check=0).stdout.splitlines()[-1])
    assert row["dtype"] == "int8"
    assert "--dtype is f32, bf16 or int8" in run("bench", "--model", MODELS / "bert_cls",
                                                  "--dtype", "fp16", check=2).stderr


def test_profile_recommends_and_plots(tmp_path):
    import zlib
    svg, png = tmp_path / "p.svg", tmp_path / "P.PNG"
    args = ("profile", "--model", MODELS / "bert_cls", "--batches", "1,2", "--seqs", "4,8",
            "--iters", "2", "--latency-budget", "1000")
    out = run(*args, "--plot", svg, check=0).stdout
    assert "recommended within 1000 ms p99: batch" in out
    text = svg.read_text()
    # A dot per configuration; labels go where they do not overlap (a point whose
    # every spot is taken stays unlabelled), so at least some are there.
    assert text.startswith("<svg") and text.count("<circle") == 4
    assert sum(f"{b}x{s}" in text for b in (1, 2) for s in (4, 8)) >= 2
    assert f"plot written to {png}" in run(*args, "--plot", png, check=0).stdout
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 400 <= width <= 2000 and 300 <= height <= 2000 and data[24:26] == b"\x08\x02"  # RGB8
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    pixels, at = b"", 8  # the IDAT chunks hold one filter byte and width RGB pixels a row
    while at < len(data):
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        pixels += data[at + 8:at + 8 + size] if kind == b"IDAT" else b""
        at += 12 + size
    assert len(zlib.decompress(pixels)) == height * (1 + 3 * width)
    err = run("profile", "--model", MODELS / "bert_cls", "--plot", "x.jpg", check=2).stderr
    assert "FILE.svg" in err.splitlines()[0] and "FILE.png" in err.splitlines()[0]
    err = run(*args, "--plot", tmp_path / "missing" / "p.png", check=1).stderr
    assert str(tmp_path / "missing" / "p.png") in err


def test_compare_driver_table_and_failed_peers(tmp_path):
    """bench/compare runs the sinter rows, names a peer that cannot run instead of
    dropping it, and prints one table with ratios to sinter (no peers installed
    in CI: --python points at a program that fails)."""
    import sys
    from conftest import ROOT
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare"), "--model", str(MODELS / "bert_cls"),
         "--batch", "2", "--seq", "8", "--iters", "2", "--warmup", "0", "--rounds", "2",
         "--only", "sinter,sinter-eager,onnxruntime", "--sinter", str(SINTER),
         "--python", "/bin/false"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("|")[1].strip(): line for line in proc.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| engine")}
    assert set(rows) == {"sinter", "sinter-eager", "onnxruntime"}
    assert "1.00x (1.00-1.00)" in rows["sinter"]
    assert "x (" in rows["sinter-eager"] and "failed (exit 1)" in rows["onnxruntime"]
    assert "2 rounds" in proc.stdout and "GFLOP/s" in proc.stdout
