"""Ray Data throughput (issue 12): documents per second embedding a dataset
with sinter.ray.Embedder on one and two worker processes, against
sentence-transformers run the same way, on a local Ray (two CPUs).

    .venv/bin/python bench/bench_ray.py [MODEL_DIR] [N_DOCS]"""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import ray

import sinter

ROOT = Path(__file__).resolve().parents[1]
model_dir = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".cache/models/all-MiniLM-L6-v2")
n_docs = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
rng = np.random.default_rng(1)
lengths = np.clip(rng.lognormal(np.log(22), 0.8, n_docs).astype(int), 1, 120)
words = "the cat sat on a mat while rain fell over quiet hills and rivers".split()
docs = [" ".join(words[(i + k) % len(words)] for k in range(n)) for i, n in enumerate(lengths)]
cache = tempfile.mkdtemp()
sinter.Model(model_dir, cache=cache)  # compiled once; the actors load the artifact


class STEmbedder:
    def __init__(self, model, threads):
        import torch
        torch.set_num_threads(threads)
        from sentence_transformers import SentenceTransformer
        self.m = SentenceTransformer(model, device="cpu")

    def __call__(self, batch):
        batch["embedding"] = self.m.encode(list(batch["text"]), batch_size=32)
        return batch


ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
for name, cls, workers, kwargs in (
        ("sinter", sinter.ray.Embedder, 1, {"model": model_dir, "cache": cache, "threads": 2}),
        ("sinter", sinter.ray.Embedder, 2, {"model": model_dir, "cache": cache, "threads": 1}),
        ("sentence-transformers", STEmbedder, 1, {"model": model_dir, "threads": 2}),
        ("sentence-transformers", STEmbedder, 2, {"model": model_dir, "threads": 1})):
    ds = ray.data.from_items([{"text": d} for d in docs])
    t0 = time.perf_counter()
    rows = ds.map_batches(cls, fn_constructor_kwargs=kwargs, concurrency=workers,
                          batch_size=256, num_cpus=2 / workers).count()
    took = time.perf_counter() - t0
    print(json.dumps({"what": f"{name} through Ray Data", "workers": workers, "docs": rows,
                      "docs_per_s": round(rows / took, 1), "seconds": round(took, 2)}))
ray.shutdown()
