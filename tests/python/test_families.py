"""sinter.Model and the SentenceTransformer drop-in on the RoBERTa family:
an XLM-R sentence-transformers folder (text to normalized mean embedding)
against SentenceTransformer.encode's recorded output, and a RoBERTa
classifier's logits against transformers'; MPNet's classifier and the real
all-mpnet-base-v2; ModernBERT's classifier."""
import json
from pathlib import Path

import numpy as np
import pytest

import sinter

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "fixtures" / "models"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


@pytest.mark.parametrize("name,family,arch", [("xlmr_st", "roberta", "XLMRobertaModel"),
                                              ("modernbert_st", "modernbert", "ModernBertModel"),
                                              ("qwen3_st", "qwen3", "Qwen3Model"),
                                              ("gemma3_st", "gemma3", "Gemma3TextModel"),
                                              ("deberta_st", "deberta-v2", "DebertaV2Model")])
def test_sentence_transformer_folders(tmp_path, name, family, arch):
    g = json.loads((GOLDEN / f"{name}.json").read_text())
    texts = [c["text"] for c in g["cases"]]
    want = np.array([c["embedding"] for c in g["cases"]], dtype=np.float32)
    m = sinter.Model(MODELS / name, cache=tmp_path / "cache")
    assert m.info["model_type"] == family and m.info["architecture"] == arch
    got = m.encode(texts)
    assert np.abs(got - want).max() < 1e-4
    assert [r["input_ids"] for r in m.tokenize(texts)] == [c["input_ids"] for c in g["cases"]]
    st = sinter.SentenceTransformer(str(MODELS / name), cache_folder=tmp_path / "cache2")
    assert np.abs(st.encode(texts) - want).max() < 1e-4


def test_roberta_classifier_logits(tmp_path):
    g = json.loads((GOLDEN / "roberta_cls.json").read_text())
    m = sinter.Model(MODELS / "roberta_cls", cache=tmp_path / "cache")
    for case in g["cases"]:
        got = m.logits([np.array(x, dtype=np.int32) for x in case["input_ids"]])
        assert np.abs(got - np.array(case["logits"], dtype=np.float32)).max() < 1e-4


def test_mpnet_classifier_logits(tmp_path):
    g = json.loads((GOLDEN / "mpnet_cls.json").read_text())
    m = sinter.Model(MODELS / "mpnet_cls", cache=tmp_path / "cache")
    assert m.info["model_type"] == "mpnet"
    for case in g["cases"]:
        got = m.logits([np.array(x, dtype=np.int32) for x in case["input_ids"]])
        assert np.abs(got - np.array(case["logits"], dtype=np.float32)).max() < 1e-4


def test_all_mpnet_base_v2_sentence_transformer(tmp_path):
    """The real all-mpnet-base-v2 (scripts/fetch_mpnet.sh) through the drop-in."""
    folder = ROOT / ".cache" / "models" / "all-mpnet-base-v2"
    if not folder.is_dir():
        pytest.skip("all-mpnet-base-v2 is fetched by scripts/fetch_mpnet.sh")
    g = json.loads((GOLDEN / "all_mpnet_base_v2.json").read_text())
    texts = [c["text"] for c in g["cases"]]
    want = np.array([c["embedding"] for c in g["cases"]], dtype=np.float32)
    st = sinter.SentenceTransformer(str(folder), cache_folder=tmp_path / "cache")
    assert np.abs(st.encode(texts) - want).max() < 1e-4


def test_modernbert_classifier_logits(tmp_path):
    """Rotary positions, sliding windows and GeGLU through sinter.Model."""
    g = json.loads((GOLDEN / "modernbert_cls.json").read_text())
    m = sinter.Model(MODELS / "modernbert_cls", cache=tmp_path / "cache")
    assert m.info["model_type"] == "modernbert"
    for case in g["cases"]:
        got = m.logits([np.array(x, dtype=np.int32) for x in case["input_ids"]])
        assert np.abs(got - np.array(case["logits"], dtype=np.float32)).max() < 1e-4


def test_modernbert_silu_classifier_head(tmp_path):
    """classifier_activation silu (no GEMM epilogue has it): the head's SiLU
    runs as its own op, against transformers' logits."""
    torch = pytest.importorskip("torch")
    from transformers import ModernBertConfig, ModernBertForSequenceClassification
    torch.manual_seed(35)
    cfg = ModernBertConfig(vocab_size=64, hidden_size=30, num_attention_heads=3,
                           intermediate_size=22, num_hidden_layers=2, max_position_embeddings=48,
                           global_attn_every_n_layers=2, local_attention=6, norm_eps=1e-5,
                           hidden_activation="gelu", classifier_activation="silu",
                           classifier_pooling="mean", num_labels=3, pad_token_id=0,
                           bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2)
    hf = ModernBertForSequenceClassification(cfg).eval()
    hf.save_pretrained(tmp_path / "m", safe_serialization=True)
    rows = [[1, 5, 9, 22, 7, 2], [1, 40, 2], list(range(3, 40))]
    with torch.no_grad():
        want = [hf(input_ids=torch.tensor([r])).logits[0].numpy() for r in rows]
    m = sinter.Model(tmp_path / "m", cache=tmp_path / "cache")
    got = m.logits([np.array(r, dtype=np.int32) for r in rows])
    assert np.abs(got - np.array(want)).max() < 1e-4


def test_deberta_classifier_logits(tmp_path):
    """DeBERTa-v3's disentangled attention and ContextPooler through
    sinter.Model; its int8 (not measured on a real checkpoint) warns so and
    stays close to fp32 on the fixture."""
    g = json.loads((GOLDEN / "deberta_cls.json").read_text())
    m = sinter.Model(MODELS / "deberta_cls", cache=tmp_path / "cache")
    assert m.info["model_type"] == "deberta-v2"
    for case in g["cases"]:
        got = m.logits([np.array(x, dtype=np.int32) for x in case["input_ids"]])
        assert np.abs(got - np.array(case["logits"], dtype=np.float32)).max() < 1e-4
    with pytest.warns(sinter.SinterWarning, match="int8 is not measured on a real deberta-v2"):
        q = sinter.Model(MODELS / "deberta_cls", cache=tmp_path / "cache", dtype="int8")
    ids = [np.array(x, dtype=np.int32) for x in g["cases"][0]["input_ids"]]
    a, b = m.logits(ids), q.logits(ids)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.998, cos
    assert (a.argmax(1) == b.argmax(1)).all()
    # Opened again, from the cache: the warning again.
    with pytest.warns(sinter.SinterWarning, match="int8 is not measured"):
        sinter.Model(MODELS / "deberta_cls", cache=tmp_path / "cache", dtype="int8")


def test_int8_per_family_accuracy(tmp_path):
    """int8 keeps a cosine to fp32 of at least 0.998 on the golden sentences
    for the families it is offered for (MiniLM: BERT), and is refused, with
    the reason, for a family whose real checkpoint falls under (MPNet)."""
    g = json.loads((GOLDEN / "all_minilm_l6_v2.json").read_text())
    texts = [c["text"] for c in g["cases"]]
    minilm = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"
    a = sinter.Model(minilm, cache=tmp_path / "c").encode(texts)
    b = sinter.Model(minilm, cache=tmp_path / "c", dtype="int8").encode(texts)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.998, cos.min()
    with pytest.raises(sinter.Error, match="int8 is refused for the mpnet family: .*0.9971"):
        sinter.Model(MODELS / "mpnet_base", cache=tmp_path / "c", dtype="int8")
    # Measured (BERT): no warning.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", sinter.SinterWarning)
        sinter.Model(minilm, cache=tmp_path / "c", dtype="int8")


@pytest.mark.parametrize("name", ["qwen3_st", "gemma3_st"])
def test_prompts_as_sentence_transformers(tmp_path, name):
    """encode(prompt_name=...) on sinter.Model and the drop-in, against
    SentenceTransformer.encode(prompt_name=...) recorded in the golden."""
    g = json.loads((GOLDEN / f"{name}.json").read_text())
    texts = [c["text"] for c in g["cases"]]
    m = sinter.Model(MODELS / name, cache=tmp_path / "c")
    assert set(m.info["prompts"]) == {"query", "document"}
    want = np.array(g["prompted"]["query"], dtype=np.float32)
    assert np.abs(m.encode(texts, prompt_name="query") - want).max() < 1e-4
    st = sinter.SentenceTransformer(str(MODELS / name), cache_folder=tmp_path / "c2")
    assert np.abs(st.encode(texts, prompt_name="query") - want).max() < 1e-4
    with pytest.raises(ValueError, match="passage"):
        m.encode(texts, prompt_name="passage")
