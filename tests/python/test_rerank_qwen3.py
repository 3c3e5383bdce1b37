"""sinter.Model.rerank on a Qwen3-Reranker folder (Qwen3ForCausalLM with
rerank_template.json) against the reference code's scores in transformers
(tests/fixtures/golden/qwen3_rerank*.json), with the instruction and the
template overridden; tokenize() of a pair gives the reference's ids."""
import json
from pathlib import Path

import numpy as np
import pytest

import sinter

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "fixtures" / "models"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
TOL = 1e-4


@pytest.mark.parametrize("name", ["qwen3_rerank", "qwen3_rerank_tied", "qwen3_seqcls"])
def test_rerank_matches_reference(tmp_path, name):
    g = json.loads((GOLDEN / f"{name}.json").read_text())
    m = sinter.Model(MODELS / name, cache=tmp_path / "cache")
    assert m.info["num_labels"] == 1 and "{query}" in m.rerank_template
    for key, kw in (("cases", {}), ("other_instruction_cases",
                                    {"instruction": g["other_instruction"]}),
                    ("other_body_cases", {"template": g["other_body"]})):
        cases = g[key]
        query = cases[0]["query"]
        docs = [c for c in cases if c["query"] == query]
        ranked = m.rerank(query, [c["document"] for c in docs], return_documents=True, **kw)
        assert [r["index"] for r in ranked] == sorted(range(len(docs)),
                                                      key=lambda i: -docs[i]["score"])
        for r in ranked:
            assert abs(r["score"] - docs[r["index"]]["score"]) < TOL, (key, r)
        logits = m.logits([(c["query"], c["document"]) for c in cases], **kw)[:, 0]
        assert np.abs(logits - np.array([c["logit"] for c in cases])).max() < TOL
    rows = m.tokenize([(c["query"], c["document"]) for c in g["cases"]])
    assert [r["input_ids"] for r in rows] == [c["input_ids"] for c in g["cases"]]


def test_rerank_refusals(tmp_path):
    m = sinter.Model(MODELS / "qwen3_rerank", cache=tmp_path / "cache")
    with pytest.raises(ValueError, match="document"):
        m.rerank("q", ["d"], template="{query} only")
    e = sinter.Model(MODELS / "qwen3_st", cache=tmp_path / "cache")
    assert e.rerank_template is None
    with pytest.raises(ValueError, match="rerank_template.json"):
        e.logits([("q", "d")], instruction="x")


def test_same_as_sentence_transformers_crossencoder(tmp_path):
    """The folder as sentence-transformers 6 saves a CrossEncoder over a
    causal LM (Transformer text-generation, LogitScore yes/no, Sigmoid; the
    prompt in chat_template.jinja), plus rerank_template.json for sinter:
    CrossEncoder.predict and sinter.Model.rerank give the same scores."""
    import shutil

    import torch
    from sentence_transformers import CrossEncoder
    ce = CrossEncoder(str(MODELS / "qwen3_rerank"), device="cpu",
                      model_kwargs={"dtype": torch.float32, "attn_implementation": "eager"})
    folder = tmp_path / "st"
    ce.save(str(folder))
    assert (folder / "1_LogitScore" / "config.json").exists()
    shutil.copy(MODELS / "qwen3_rerank" / "rerank_template.json", folder)
    g = json.loads((GOLDEN / "qwen3_rerank.json").read_text())
    query = g["cases"][0]["query"]
    docs = [c["document"] for c in g["cases"]]
    want = ce.predict([(query, d) for d in docs])
    got = sinter.Model(folder, cache=tmp_path / "cache").rerank(query, docs)
    assert max(abs(r["score"] - float(want[r["index"]])) for r in got) < TOL
