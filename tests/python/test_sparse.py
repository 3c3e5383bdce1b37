"""sinter.Model.encode_sparse: SPLADE vectors of a masked-LM folder from text
against sentence-transformers' SparseEncoder (MLMTransformer + SpladePooling;
tests/fixtures/golden/roberta_splade.json, and live when it is installed),
from token ids against transformers (camembert_mlm_sparse.json, and the
ModernBERT and DeBERTa-v2 <name>_sparse.json), and the refusal
on a model without a masked-LM head."""
import json
from pathlib import Path

import numpy as np
import pytest

import sinter

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "fixtures" / "models"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


def golden(name):
    return json.loads((GOLDEN / f"{name}.json").read_text())


def test_encode_sparse_from_text(tmp_path):
    cases = golden("roberta_splade")["cases"]
    texts = [c["text"] for c in cases]
    want = np.array([c["sparse"] for c in cases], dtype=np.float32)
    m = sinter.Model(MODELS / "roberta_splade", cache=tmp_path / "cache")
    assert m.info["sparse"] == 0  # a plain program: the sparse one opens on first use
    dense = m.encode_sparse(texts, dense=True)
    assert dense.shape == want.shape and dense.dtype == np.float32
    assert np.abs(dense - want).max() < 1e-4
    rows = m.encode_sparse(texts, batch_size=3)
    for row, w, d in zip(rows, want, dense):
        assert row["indices"].dtype == np.int32 and row["values"].dtype == np.float32
        assert (np.diff(row["indices"]) > 0).all() and (row["values"] != 0).all()
        assert (row["indices"] == np.flatnonzero(d)).all()
        assert np.abs(row["values"] - w[row["indices"]]).max() < 1e-4
    one = m.encode_sparse(texts[0])
    assert (one["indices"] == rows[0]["indices"]).all()
    assert m.encode_sparse(texts[0], dense=True).shape == (want.shape[1],)
    # embeddings still come from the plain program
    assert m.encode(texts).shape == (len(texts), m.info["hidden_size"])
    # opened with sparse=True: one program does both
    both = sinter.Model(MODELS / "roberta_splade", cache=tmp_path / "cache", sparse=True)
    assert both.info["sparse"] == 1
    assert np.abs(both.encode_sparse(texts, dense=True) - want).max() < 1e-4


def test_against_sparse_encoder(tmp_path):
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling
    folder = str(MODELS / "roberta_splade")
    mlm = MLMTransformer(folder, max_seq_length=24)
    enc = st.SparseEncoder(modules=[mlm, SpladePooling(pooling_strategy="max")], device="cpu")
    texts = ["sparse retrieval", "a second, longer text about vocabularies and their weights"]
    want = enc.encode(texts, convert_to_tensor=True).to_dense().numpy()
    got = sinter.Model(folder, cache=tmp_path / "cache").encode_sparse(texts, dense=True)
    assert np.abs(got - want).max() < 1e-4


def test_encode_sparse_from_ids(tmp_path):
    case = golden("camembert_mlm_sparse")["cases"][0]  # no token types
    assert case["token_type_ids"] is None
    m = sinter.Model(MODELS / "camembert_mlm", cache=tmp_path / "cache")
    got = m.encode_sparse([np.array(ids) for ids in case["input_ids"]], dense=True)
    assert np.abs(got - np.array(case["sparse"], dtype=np.float32)).max() < 1e-4


@pytest.mark.parametrize("name", ["modernbert_mlm", "modernbert_mlm_bias", "deberta_mlm"])
def test_encode_sparse_families(name, tmp_path):
    # ModernBERT (its prediction head, sliding windows; biases as configured)
    # and DeBERTa-v2 (cls.predictions.*): every golden batch, from token ids
    m = sinter.Model(MODELS / name, cache=tmp_path / "cache")
    for case in golden(f"{name}_sparse")["cases"]:
        assert case["token_type_ids"] is None
        got = m.encode_sparse([np.array(ids) for ids in case["input_ids"]], dense=True)
        assert np.abs(got - np.array(case["sparse"], dtype=np.float32)).max() < 1e-4, name


def test_refused_without_a_masked_lm_head(tmp_path):
    m = sinter.Model(MODELS / "bert_cls", cache=tmp_path / "cache")
    with pytest.raises(sinter.Error, match="masked-LM head"):
        m.encode_sparse(["x"])
    with pytest.raises(sinter.Error, match="masked-LM head"):
        sinter.Model(MODELS / "bert_cls", cache=tmp_path / "cache", sparse=True)
