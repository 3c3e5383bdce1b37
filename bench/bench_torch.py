"""sinter from PyTorch users' side (issue 12), two threads each:
sentence-transformers' encode against sinter.SentenceTransformer on the
log-normal mix, and the seed's workload (BertModel, batch 8 x 128) eager,
torch.compile (inductor) and torch.compile(backend="sinter"), with compile times.

    .venv/bin/python bench/bench_torch.py [MODEL_DIR]    # needs torch, transformers,
                                                         # sentence-transformers"""
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import sinter

ROOT = Path(__file__).resolve().parents[1]
model_dir = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".cache/models/all-MiniLM-L6-v2")
torch.set_num_threads(2)
lengths = [int(x) for x in (ROOT / "bench/lengths_lognormal_32.txt").read_text().split()]
words = "the of and to in is was for on that with as by at from his her it".split()
texts = [" ".join(words[(i + k) % len(words)] for k in range(n - 2)) for i, n in enumerate(lengths)]


def median_time(fn, iters, warmup=3):
    for _ in range(warmup):  # right after a first call, thread pools are still waking up
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(**kw):
    print(json.dumps(kw))


from sentence_transformers import SentenceTransformer  # noqa: E402

st = SentenceTransformer(model_dir, device="cpu")
ours = sinter.SentenceTransformer(model_dir, cache_folder=tempfile.mkdtemp())
for name, model in (("sentence-transformers", st), ("sinter.SentenceTransformer", ours)):
    t = median_time(lambda: model.encode(texts, batch_size=32), 20)
    report(what=f"{name} encode, log-normal mix, batch 32", seq_per_s=round(len(texts) / t, 1))

from transformers import BertModel  # noqa: E402

bert = BertModel.from_pretrained(model_dir).eval()
ids = torch.randint(1000, 20000, (8, 128))
mask = torch.ones(8, 128, dtype=torch.long)
with torch.no_grad():
    t = median_time(lambda: bert(input_ids=ids, attention_mask=mask), 10)
    report(what="transformers eager, 8 x 128", seq_per_s=round(8 / t, 2), ms=round(t * 1e3, 1))
    for backend, options in (("inductor", None), ("sinter", {"cache_dir": tempfile.mkdtemp()})):
        t0 = time.perf_counter()
        compiled = torch.compile(bert, backend=backend, options=options)
        compiled(input_ids=ids, attention_mask=mask)
        compile_s = time.perf_counter() - t0
        t = median_time(lambda: compiled(input_ids=ids, attention_mask=mask), 10)
        report(what=f"torch.compile backend={backend}, 8 x 128", seq_per_s=round(8 / t, 2),
               ms=round(t * 1e3, 1), first_call_s=round(compile_s, 2))

# The log-normal mix as one padded batch of 32 (as a PyTorch caller sends it).
from transformers import AutoTokenizer  # noqa: E402

tok = AutoTokenizer.from_pretrained(model_dir)
enc = tok(texts, padding=True, return_tensors="pt")
with torch.no_grad():
    t = median_time(lambda: bert(**enc), 10)
    report(what=f"transformers eager, the mix padded to {enc['input_ids'].shape[1]}",
           seq_per_s=round(32 / t, 1))
    for backend, options in (("inductor", None), ("sinter", {"cache_dir": tempfile.mkdtemp()})):
        torch._dynamo.reset()
        compiled = torch.compile(bert, backend=backend, options=options)
        t0 = time.perf_counter()
        compiled(**enc)
        compile_s = time.perf_counter() - t0
        t = median_time(lambda: compiled(**enc), 10)
        report(what=f"torch.compile backend={backend}, the mix (batch 32)",
               seq_per_s=round(32 / t, 1), first_call_s=round(compile_s, 2))
