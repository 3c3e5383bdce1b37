"""sentence-transformers Dense modules through sinter.Model and the
SentenceTransformer drop-in: bert_dense_st (mean pooling of 32 features,
Dense 32 -> 40 Tanh with bias, Dense 40 -> 24 Identity without, Normalize)
and bert_dense_nonorm_st (CLS, Dense 16 -> 12 GELU, no Normalize), against
SentenceTransformer.encode's recorded output."""
import json
from pathlib import Path

import numpy as np
import pytest

import sinter

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "fixtures" / "models"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


def load(name):
    g = json.loads((GOLDEN / f"{name}.json").read_text())
    return g, [c["text"] for c in g["cases"]], np.array([c["embedding"] for c in g["cases"]],
                                                        dtype=np.float32)


@pytest.mark.parametrize("name", ["bert_dense_st", "bert_dense_nonorm_st"])
def test_model_encode(tmp_path, name):
    g, texts, want = load(name)
    m = sinter.Model(MODELS / name, cache=tmp_path / "c")
    assert m.info["embedding_dim"] == g["embedding_dim"] and m.info["dense_modules"] >= 1
    got = m.encode(texts)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-4
    # normalize=True normalizes after the Dense modules
    unit = m.encode(texts, normalize=True)
    assert np.abs(unit - want / np.linalg.norm(want, axis=1, keepdims=True)).max() < 1e-4


def test_drop_in(tmp_path):
    g, texts, want = load("bert_dense_st")
    st = sinter.SentenceTransformer(str(MODELS / "bert_dense_st"), cache_folder=tmp_path / "c")
    assert st.get_sentence_embedding_dimension() == 24
    got = st.encode(texts)
    assert got.shape == (len(texts), 24) and np.abs(got - want).max() < 1e-4
    assert st.encode([]).shape == (0, 24)
    short = st.encode(texts, truncate_dim=16, normalize_embeddings=True)
    head = want[:, :16] / np.linalg.norm(want[:, :16], axis=1, keepdims=True)
    assert short.shape == (len(texts), 16) and np.abs(short - head).max() < 1e-4
    st16 = sinter.SentenceTransformer(str(MODELS / "bert_dense_st"), cache_folder=tmp_path / "c",
                                      truncate_dim=16)
    assert st16.get_sentence_embedding_dimension() == 16


def test_artifact_round_trip(tmp_path):
    """An artifact saved from the folder embeds the same through sinter.Model."""
    g, texts, want = load("bert_dense_st")
    m = sinter.Model(MODELS / "bert_dense_st", cache=tmp_path / "c")
    path = tmp_path / "dense.sinter"
    m.save(path)
    a = sinter.Model(path)
    assert a.info["embedding_dim"] == 24
    assert np.abs(a.encode(texts) - want).max() < 1e-4
