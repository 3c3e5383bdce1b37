"""torch.compile(model, backend="sinter") and sinter.compile(model) against
eager PyTorch on small random Hugging Face models: several shapes without
recompiling the program, right-padded masks, token types, the classifiers,
the compile cache, and the fallbacks. Skipped without torch and transformers."""
import logging
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import sinter  # noqa: E402
from sinter import torch_backend  # noqa: E402

SHAPES = [(1, 5), (3, 9), (4, 17), (2, 40)]
CFG = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=64, max_position_embeddings=64)


def bert(cls=transformers.BertModel, **extra):
    torch.manual_seed(0)
    return cls(transformers.BertConfig(**CFG, **extra)).eval()


def distilbert(cls=transformers.DistilBertModel, **extra):
    torch.manual_seed(0)
    cfg = transformers.DistilBertConfig(vocab_size=120, dim=32, n_layers=2, n_heads=4,
                                        hidden_dim=64, max_position_embeddings=64, **extra)
    return cls(cfg).eval()


def inputs(batch, seq, pad=True):
    g = torch.Generator().manual_seed(batch * 100 + seq)
    ids = torch.randint(0, 120, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    if pad and batch > 1:
        for b in range(1, batch):
            mask[b, seq - b:] = 0  # right padding, a different length per row
    return ids, mask


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every test compiles its models afresh: the RoBERTa family shares
    BERT's layer code, and Dynamo's per-code recompile limit would otherwise
    send later tests to plain eager, backend unasked."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.fixture
def served(monkeypatch):
    """One entry per call that reached sinter: True when sinter computed it."""
    calls = []
    real = torch_backend.run_program

    def counting(*args, **kwargs):
        got = real(*args, **kwargs)
        calls.append(got is not None)
        return got

    monkeypatch.setattr(torch_backend, "run_program", counting)
    return calls


def close(a, b, keep=None):
    if keep is not None:
        a, b = a[keep], b[keep]
    return (a - b).abs().max().item() < 1e-4


def test_bert_model_any_shape_padding_masked(tmp_path):
    m = bert()
    lowered = []
    real = torch_backend.program_for

    def counting(module, options=None):
        lowered.append(module)
        return real(module, options)

    torch_backend.program_for = counting
    try:
        c = torch.compile(m, backend="sinter", options={"cache_dir": str(tmp_path)})
        for batch, seq in SHAPES:
            ids, mask = inputs(batch, seq)
            with torch.no_grad():
                want, got = m(input_ids=ids, attention_mask=mask), c(input_ids=ids, attention_mask=mask)
            keep = mask.bool()
            assert close(want.last_hidden_state, got.last_hidden_state, keep), (batch, seq)
            assert close(want.pooler_output, got.pooler_output), (batch, seq)
            assert (got.last_hidden_state[~keep] == 0).all()
    finally:
        torch_backend.program_for = real
    # Dynamo may trace again for new shapes; the program is compiled once.
    assert len({id(x) for x in lowered}) == 1 and len(torch_backend._programs) >= 1


def test_classifiers_with_token_types():
    for model in (bert(transformers.BertForSequenceClassification, num_labels=3),
                  distilbert(transformers.DistilBertForSequenceClassification, num_labels=2)):
        c = torch.compile(model, backend="sinter")
        for batch, seq in SHAPES[:3]:
            ids, mask = inputs(batch, seq)
            kw = dict(input_ids=ids, attention_mask=mask)
            if isinstance(model, transformers.BertForSequenceClassification):
                types = torch.zeros_like(ids)
                types[:, seq // 2:] = 1
                kw["token_type_ids"] = types
            with torch.no_grad():
                assert close(model(**kw).logits, c(**kw).logits), (type(model).__name__, batch, seq)


def test_distilbert_model():
    m = distilbert()
    c = torch.compile(m, backend="sinter")
    ids, mask = inputs(3, 11)
    with torch.no_grad():
        want, got = m(input_ids=ids, attention_mask=mask), c(input_ids=ids, attention_mask=mask)
    assert close(want.last_hidden_state, got.last_hidden_state, mask.bool())


def roberta(cls=transformers.RobertaModel, config=transformers.RobertaConfig, **extra):
    torch.manual_seed(0)
    cfg = config(vocab_size=120, hidden_size=36, num_hidden_layers=2, num_attention_heads=3,
                 intermediate_size=52, max_position_embeddings=50, type_vocab_size=1,
                 pad_token_id=1, layer_norm_eps=1e-6, **extra)
    return cls(cfg).eval()


def check_lowered(m, shapes, served, min_id=0):
    """torch.compile(m, backend="sinter") against m itself on each (batch,
    seq): the logits, or last_hidden_state where the mask is 1 (and
    pooler_output when the model has one); sinter serves every call. Ids
    below min_id are kept out of the texts. Returns the compiled module."""
    c = torch.compile(m, backend="sinter")
    for batch, seq in shapes:
        ids, mask = inputs(batch, seq)
        ids = ids.clamp(min=min_id)
        with torch.no_grad():
            want, got = m(input_ids=ids, attention_mask=mask), c(input_ids=ids, attention_mask=mask)
        if hasattr(want, "logits"):
            assert close(want.logits, got.logits), (batch, seq)
            continue
        assert close(want.last_hidden_state, got.last_hidden_state, mask.bool()), (batch, seq)
        if getattr(want, "pooler_output", None) is not None:
            assert close(want.pooler_output, got.pooler_output), (batch, seq)
    assert served and all(served)
    return c


def check_padding_id_runs_on_pytorch(m, c, served, row, col, pad_id=1):
    """A text holding the padding id: transformers does not count it as a
    position (RoBERTa, MPNet); that call runs on PyTorch, still exact."""
    served.clear()
    ids, mask = inputs(2, 9)
    ids = ids.clamp(min=2)
    ids[row, col] = pad_id
    with torch.no_grad():
        want, got = m(input_ids=ids, attention_mask=mask), c(input_ids=ids, attention_mask=mask)
    key = "logits" if hasattr(want, "logits") else "last_hidden_state"
    assert close(getattr(want, key), getattr(got, key), None if key == "logits" else mask.bool())
    assert served == [False]


@pytest.mark.parametrize("make", [
    lambda: roberta(),
    lambda: roberta(transformers.XLMRobertaModel, transformers.XLMRobertaConfig),
    lambda: roberta(transformers.CamembertForSequenceClassification, transformers.CamembertConfig,
                    num_labels=3),
])
def test_roberta_family(make, served):
    m = make()
    c = check_lowered(m, SHAPES[:3], served, min_id=2)
    check_padding_id_runs_on_pytorch(m, c, served, 0, 3)


def mpnet(cls=transformers.MPNetModel, **extra):
    torch.manual_seed(0)
    cfg = transformers.MPNetConfig(vocab_size=120, hidden_size=36, num_hidden_layers=2,
                                   num_attention_heads=3, intermediate_size=52,
                                   max_position_embeddings=300, layer_norm_eps=1e-6, **extra)
    return cls(cfg).eval()


@pytest.mark.parametrize("make", [
    lambda: mpnet(),
    lambda: mpnet(transformers.MPNetForSequenceClassification, num_labels=2),
])
def test_mpnet(make, served):
    """MPNet's relative bias, with a sequence past its reach of 128; a text
    holding id 1 (its fixed padding index) runs on PyTorch."""
    m = make()
    c = check_lowered(m, ((1, 1), (3, 11), (2, 200)), served, min_id=2)
    check_padding_id_runs_on_pytorch(m, c, served, 1, 2)


def modernbert(cls=transformers.ModernBertModel, **extra):
    torch.manual_seed(0)
    cfg = transformers.ModernBertConfig(vocab_size=120, hidden_size=36, num_hidden_layers=3,
                                        num_attention_heads=3, intermediate_size=40,
                                        max_position_embeddings=64, local_attention=8,
                                        global_attn_every_n_layers=2, norm_eps=1e-6,
                                        pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                        cls_token_id=1, sep_token_id=2, **extra)
    return cls(cfg).eval()


@pytest.mark.parametrize("make", [
    lambda: modernbert(),
    lambda: modernbert(transformers.ModernBertForSequenceClassification, num_labels=2,
                       classifier_pooling="mean"),
])
def test_modernbert(make, served):
    """Rotary positions, sliding windows shorter than the sequence, GeGLU."""
    check_lowered(make(), ((1, 1), (3, 11), (2, 60)), served)


def deberta(cls=transformers.DebertaV2Model, v3=True, **extra):
    torch.manual_seed(0)
    kw = dict(position_biased_input=False, type_vocab_size=0, position_buckets=8,
              max_relative_positions=16, pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm")
    if not v3:  # DeBERTa-v2 as it may be configured: absolute positions, token types, c2p
        kw = dict(position_biased_input=True, type_vocab_size=2, position_buckets=-1,
                  max_relative_positions=12, pos_att_type=["c2p"], norm_rel_ebd="none")
    cfg = transformers.DebertaV2Config(vocab_size=120, hidden_size=36, num_hidden_layers=2,
                                       num_attention_heads=3, intermediate_size=52,
                                       max_position_embeddings=64, relative_attention=True,
                                       share_att_key=True, layer_norm_eps=1e-6, **kw, **extra)
    return cls(cfg).eval()


@pytest.mark.parametrize("make", [
    lambda: deberta(),
    lambda: deberta(transformers.DebertaV2ForSequenceClassification, num_labels=3),
    lambda: deberta(v3=False),
])
def test_deberta(make, served):
    """DeBERTa's disentangled attention over sequences past its bucketed
    span; v2's absolute positions and token types."""
    m = make()
    c = torch.compile(m, backend="sinter")
    for batch, seq in ((1, 1), (3, 11), (2, 40)):
        ids, mask = inputs(batch, seq)
        kw = dict(input_ids=ids, attention_mask=mask)
        if m.config.type_vocab_size:
            kw["token_type_ids"] = (torch.arange(seq) >= seq // 2).long().expand(batch, seq)
        with torch.no_grad():
            want, got = m(**kw), c(**kw)
        if hasattr(want, "logits"):
            assert close(want.logits, got.logits), (batch, seq)
        else:
            assert close(want.last_hidden_state, got.last_hidden_state, mask.bool()), (batch, seq)
    assert served and all(served)


def test_qwen3_model(served):
    """A decoder as an embedder: causal, grouped-query, q/k norms, SwiGLU."""
    torch.manual_seed(0)
    cfg = transformers.Qwen3Config(vocab_size=120, hidden_size=36, intermediate_size=44,
                                   num_hidden_layers=2, num_attention_heads=4,
                                   num_key_value_heads=2, head_dim=10, max_position_embeddings=64,
                                   rms_norm_eps=1e-5, pad_token_id=0, use_cache=False)
    m = transformers.Qwen3Model(cfg).eval()
    c = check_lowered(m, ((1, 1), (3, 11), (2, 40)), served)
    # Left padding, as Qwen3-Embedding's usage code pads: runs on PyTorch
    # (sinter packs right-padded rows only), still exact.
    served.clear()
    ids, mask = inputs(3, 12)
    mask[:] = 1
    mask[1, :4] = 0
    mask[2, :9] = 0
    with torch.no_grad():
        want, got = m(input_ids=ids, attention_mask=mask), c(input_ids=ids, attention_mask=mask)
    assert close(want.last_hidden_state, got.last_hidden_state, mask.bool())
    assert served == [False]


@pytest.mark.parametrize("bidirectional", [True, False])
def test_gemma3_text_model(served, bidirectional):
    """EmbeddingGemma's encoder (bidirectional) and Gemma 3 as a decoder:
    sliding windows shorter than the sequence, sandwich norms, GQA 3:1."""
    torch.manual_seed(0)
    cfg = transformers.Gemma3TextConfig(
        vocab_size=120, hidden_size=30, intermediate_size=44, num_hidden_layers=3,
        num_attention_heads=3, num_key_value_heads=1, head_dim=10, max_position_embeddings=64,
        rms_norm_eps=1e-5, query_pre_attn_scalar=12, sliding_window=10,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        use_bidirectional_attention=bidirectional, pad_token_id=0, use_cache=False)
    check_lowered(transformers.Gemma3TextModel(cfg).eval(), ((1, 1), (3, 11), (2, 40)), served)


def test_sinter_compile_without_dynamo():
    m = bert()
    c = sinter.compile(m)
    ids, mask = inputs(4, 13)
    with torch.no_grad():
        want, got = m(input_ids=ids, attention_mask=mask), c(ids, attention_mask=mask)
    assert close(want.last_hidden_state, got.last_hidden_state, mask.bool())
    assert close(want.pooler_output, got.pooler_output)


def test_fallbacks_log_one_line_and_stay_exact(caplog):
    caplog.set_level(logging.WARNING, logger="sinter")
    lin = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    c = torch.compile(lin, backend="sinter", options={"fallback": "eager"})
    x = torch.randn(2, 4)
    assert torch.equal(c(x), lin(x))
    assert any("runs on PyTorch" in r.message and "parameters" in r.message for r in caplog.records)
    caplog.clear()
    training = bert().train()
    c = torch.compile(training, backend="sinter", options={"fallback": "eager"})
    ids, mask = inputs(2, 6)
    torch.manual_seed(1)
    c(input_ids=ids, attention_mask=mask)
    assert any("training mode" in r.message for r in caplog.records)
    caplog.clear()
    m = bert()
    c = torch.compile(m, backend="sinter")
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, :3] = 0  # left padding: positions would differ, so PyTorch runs it
    ids = torch.randint(0, 120, (2, 8))
    with torch.no_grad():
        want, got = m(input_ids=ids, attention_mask=mask), c(input_ids=ids, attention_mask=mask)
    assert torch.allclose(want.last_hidden_state, got.last_hidden_state, atol=1e-5)
    assert any("not right padding" in r.message for r in caplog.records)


def test_a_graph_with_more_than_the_model_falls_back(caplog):
    """A wrapper that mean-pools BertModel's output: its [B, H] output is no
    pooler_output, so the graph runs on PyTorch (never a wrong answer)."""
    caplog.set_level(logging.WARNING, logger="sinter")

    class MeanPooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert()

        def forward(self, input_ids, attention_mask):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask[..., None].float()
            return (h * m).sum(1) / m.sum(1)

    model = MeanPooled().eval()
    c = torch.compile(model, backend="sinter", options={"fallback": "eager"})
    ids, mask = inputs(3, 9)
    with torch.no_grad():
        assert torch.allclose(model(ids, mask), c(ids, mask), atol=1e-6)
    assert any("runs on PyTorch" in r.message for r in caplog.records)


def test_sentence_transformers_model():
    """torch.compile of a sentence-transformers model (Transformer, Pooling,
    Normalize): token_embeddings and sentence_embedding as the original."""
    st_lib = pytest.importorskip("sentence_transformers")
    model_dir = Path(__file__).resolve().parents[2] / ".cache/models/all-MiniLM-L6-v2"
    st = st_lib.SentenceTransformer(str(model_dir), device="cpu")
    c = torch.compile(st, backend="sinter", options={"fallback": "eager"})
    for texts in (["hello world", "a longer sentence about cats and dogs", "x"],
                  ["one more batch of another size"] * 5):
        features = st.tokenize(texts)
        with torch.no_grad():
            want, got = st(dict(features)), c(dict(features))
        keep = features["attention_mask"].bool()
        assert close(want["sentence_embedding"], got["sentence_embedding"])
        assert close(want["token_embeddings"], got["token_embeddings"], keep)
    assert any(getattr(p, "sentence_transformer", False) for p in torch_backend._programs.values())


def test_drop_in_convert_to_tensor():
    model_dir = Path(__file__).resolve().parents[2] / ".cache/models/all-MiniLM-L6-v2"
    st = sinter.SentenceTransformer(str(model_dir))
    t = st.encode(["a tensor", "two"], convert_to_tensor=True)
    assert isinstance(t, torch.Tensor) and tuple(t.shape) == (2, 384)


def test_the_next_process_loads_the_cached_artifact(tmp_path):
    script = f"""
import torch, transformers, sinter
from sinter import torch_backend
torch.manual_seed(0)
m = transformers.BertModel(transformers.BertConfig(**{CFG!r})).eval()
p = torch_backend.program_for(m, {{"cache_dir": {str(tmp_path)!r}}})
print(p.info["origin"])
"""
    origins = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True).stdout.split()[-1] for _ in range(2)]
    assert origins == ["compiled", "local_cache"]
