"""The Python package (`pip install .`): sinter.Model, the sentence-transformers
drop-in, errors and threads, against the sentence-transformers goldens and the
CLI. Run by scripts/test.sh after installing the package into .venv."""
import json
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import sinter

ROOT = Path(__file__).resolve().parents[2]
from conftest import (DEFAULT_MODEL, MODELS, SINTER, classifier_with_tokenizer,  # noqa: E402
                      cli_logits, one_logit_cross_encoder)

GOLDEN = json.loads((ROOT / "tests/fixtures/golden/all_minilm_l6_v2.json").read_text())
CASES = [c for c in GOLDEN["cases"] if "\n" not in c["text"]]
TEXTS = [c["text"] for c in CASES]
WANT = np.array([c["embedding"] for c in CASES], dtype=np.float32)


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    return sinter.Model(DEFAULT_MODEL, cache=tmp_path_factory.mktemp("cache"))


def test_encode_matches_sentence_transformers(minilm):
    got = minilm.encode(TEXTS)
    assert got.shape == WANT.shape and got.dtype == np.float32
    assert np.abs(got - WANT).max() < 1e-5
    one = minilm.encode(TEXTS[0])
    assert one.shape == (384,) and np.array_equal(one, got[0])
    for batch_size in (1, 7, 64):  # packing never changes a result
        assert np.array_equal(minilm.encode(TEXTS, batch_size=batch_size), got)
    assert minilm.info["hidden_size"] == 384 and minilm.info["architecture"] == "BertModel"


def test_encode_equals_the_cli(minilm):
    out = subprocess.run([str(SINTER), "embed", "--model", str(DEFAULT_MODEL), *TEXTS[:3]],
                         capture_output=True, text=True, check=True).stdout
    cli = np.array([json.loads(line)["embedding"] for line in out.splitlines()], dtype=np.float32)
    assert np.array_equal(minilm.encode(TEXTS[:3]), cli)


def test_token_ids_as_lists_and_numpy(minilm):
    ids = [c["input_ids"] for c in CASES[:4]]
    by_text = minilm.encode(TEXTS[:4])
    assert np.array_equal(minilm.encode(ids), by_text)
    assert np.array_equal(minilm.encode([np.array(x, dtype=np.int64) for x in ids]), by_text)
    rows = minilm.tokenize(TEXTS[:4])
    assert [r["input_ids"] for r in rows] == ids


def test_options_normalize_pooling_and_token_embeddings(minilm):
    raw = minilm.encode(TEXTS[:3], normalize=False)
    norms = np.linalg.norm(raw, axis=1)
    assert np.abs(norms - 1).max() > 1e-3
    assert np.abs(raw / norms[:, None] - minilm.encode(TEXTS[:3])).max() < 1e-6
    tokens = minilm.token_embeddings(TEXTS[:3])
    assert [t.shape[0] for t in tokens] == [len(c["input_ids"]) for c in CASES[:3]]
    assert np.abs(np.stack([t.mean(axis=0) for t in tokens]) - raw).max() < 1e-5
    cls = minilm.encode(TEXTS[:3], normalize=False, pooling="cls")
    assert np.abs(cls - np.stack([t[0] for t in tokens])).max() < 1e-6


def test_tokenize_offsets_are_characters(minilm):
    r = minilm.tokenize("Hello wörld!")
    assert r["input_ids"][0] == 101 and r["special_tokens_mask"][0]
    assert r["offsets"][1:4] == [(0, 5), (6, 11), (11, 12)]


def test_errors_carry_sinters_message(tmp_path):
    with pytest.raises(sinter.Error) as e:
        sinter.Model(tmp_path / "nowhere")
    assert "nowhere" in str(e.value)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"model_type": "bert", "hidden_size": -4}')
    with pytest.raises(sinter.Error) as e:
        sinter.Model(tmp_path / "bad", cache=tmp_path / "c")
    assert "config.json" in str(e.value) or "hidden_size" in str(e.value)
    with pytest.raises(ValueError):
        sinter.Model(DEFAULT_MODEL, dtype="f16")
    m = sinter.Model(DEFAULT_MODEL, cache=tmp_path / "c2")
    with pytest.raises(sinter.Error) as e:
        m.encode([[1, 2, 999999]])
    assert "999999" in str(e.value)
    with pytest.raises(sinter.Error):
        m.classify(["no head"])
    with pytest.raises(TypeError):
        m.encode([3.5])


def test_threads_overlap_and_get_their_own_results(minilm):
    want = minilm.encode(TEXTS)
    results, errors = {}, []

    def worker(k):
        try:
            for _ in range(3):
                order = TEXTS[k:] + TEXTS[:k]
                got = minilm.encode(order, batch_size=8)
                results.setdefault(k, []).append(np.array_equal(got, np.roll(want, -k, axis=0)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(all(v) for v in results.values()) and len(results) == 4


def test_artifacts_and_the_compile_cache(tmp_path):
    m = sinter.Model(DEFAULT_MODEL, cache=tmp_path / "cache")
    assert m.info["origin"] == "compiled"
    again = sinter.Model(DEFAULT_MODEL, cache=tmp_path / "cache")
    assert again.info["origin"] == "local_cache"
    m.save(tmp_path / "minilm.sinter")
    art = sinter.Model(tmp_path / "minilm.sinter")
    assert art.info["origin"] == "file"
    assert np.array_equal(art.encode(TEXTS[:2]), m.encode(TEXTS[:2]))


def test_int8_with_a_calibration_file(tmp_path):
    """int8 keeps the golden embeddings within cosine 0.998 of fp32, with the
    built-in calibration or a file of the caller's; the file is in the key."""
    texts = tmp_path / "calibration.txt"
    texts.write_text("\n".join(TEXTS[:8]) + "\n")
    builtin = sinter.Model(DEFAULT_MODEL, cache=tmp_path / "c", dtype="int8")
    mine = sinter.Model(DEFAULT_MODEL, cache=tmp_path / "c", dtype="int8", calibration=texts)
    assert builtin.info["content_key"] != mine.info["content_key"]
    assert sinter.Model(DEFAULT_MODEL, cache=tmp_path / "c", dtype="int8",
                        calibration=texts).info["origin"] == "local_cache"
    for m in (builtin, mine):
        got = m.encode(TEXTS)
        cos = (got * WANT).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(WANT, axis=1)
        assert cos.min() >= 0.998, cos.min()
    with pytest.raises(ValueError):
        sinter.Model(DEFAULT_MODEL, calibration=texts)
    with pytest.raises(sinter.Error, match="missing.txt"):
        sinter.Model(DEFAULT_MODEL, cache=tmp_path / "c", dtype="int8",
                     calibration=tmp_path / "missing.txt")


def test_classify_and_rerank_match_the_cli(tmp_path):
    cls_dir = classifier_with_tokenizer(tmp_path / "cls")
    m = sinter.Model(cls_dir, cache=tmp_path / "c")
    labels, scores = m.classify(["this movie was great", "awful"])
    for text, label, row in zip(["this movie was great", "awful"], labels, scores):
        want = cli_logits(cls_dir, text)
        assert label == want["label"]
        assert np.abs(row - np.array([want["scores"][k] for k in m.labels])).max() < 1e-6
    pair = m.logits([("this movie", "was great")])[0]
    assert np.abs(pair - np.array(cli_logits(cls_dir, "this movie", "was great")["logits"])).max() < 1e-6
    ce_dir = one_logit_cross_encoder(tmp_path / "ce")
    ce = sinter.Model(ce_dir, cache=tmp_path / "c")
    docs = ["this movie was great", "i hate it", "a film"]
    ranked = ce.rerank("the movie", docs, top_n=2, return_documents=True)
    logits = [cli_logits(ce_dir, "the movie", d)["logits"][0] for d in docs]
    best = sorted(range(3), key=lambda i: -logits[i])[:2]
    assert [r["index"] for r in ranked] == best and ranked[0]["text"] == docs[best[0]]
    assert abs(ranked[0]["score"] - 1 / (1 + np.exp(-logits[best[0]]))) < 1e-6
    with pytest.raises(sinter.Error):
        m.rerank("q", ["a"])  # three labels: no reranker


def test_sentence_transformers_drop_in(capsys):
    st = sinter.SentenceTransformer(str(DEFAULT_MODEL), device="cpu")
    assert st.get_sentence_embedding_dimension() == 384 and st.max_seq_length == 256
    got = st.encode(TEXTS, batch_size=16, show_progress_bar=True, convert_to_numpy=True)
    assert got.shape == WANT.shape and np.abs(got - WANT).max() < 1e-5
    assert "Batches" in capsys.readouterr().err  # a real progress bar
    one = st.encode(TEXTS[0])
    assert one.shape == (384,) and np.abs(one - WANT[0]).max() < 1e-5
    listed = st.encode(TEXTS[:3], convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 3
    normed = st.encode(TEXTS[:3], normalize_embeddings=True)
    assert np.abs(np.linalg.norm(normed, axis=1) - 1).max() < 1e-6
    short = sinter.SentenceTransformer(str(DEFAULT_MODEL), truncate_dim=64).encode(
        TEXTS[:3], normalize_embeddings=True)
    assert short.shape == (3, 64) and np.abs(np.linalg.norm(short, axis=1) - 1).max() < 1e-6
    sims = st.similarity(got[:2], got[:3])
    assert sims.shape == (2, 3) and abs(sims[0, 0] - 1) < 1e-5
    with pytest.raises(ValueError):
        st.encode(TEXTS[:1], precision="int8")
    with pytest.raises(OSError):
        sinter.SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")  # no downloads


def test_mpnet_style_models_and_distilbert_load(tmp_path):
    m = sinter.Model(MODELS / "distilbert_cls", cache=tmp_path)
    assert m.info["model_type"] == "distilbert" and m.info["num_labels"] > 0
