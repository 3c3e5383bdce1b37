"""The Python binding's cost (issue 12): sinter.Model.encode against the CLI's
`sinter bench` on the same lengths, and the overhead of one call.

    .venv/bin/python bench/bench_python.py [MODEL_DIR]

Token-id inputs of the lengths in bench/lengths_lognormal_32.txt (the
log-normal mix of `sinter bench --lengths`), batch 32, so tokenization is
out of both; then text inputs (tokenization in); then 2-token calls, whose
time is almost all binding and session overhead."""
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import sinter

ROOT = Path(__file__).resolve().parents[1]
model_dir = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / ".cache/models/all-MiniLM-L6-v2")
lengths = [int(x) for x in (ROOT / "bench/lengths_lognormal_32.txt").read_text().split()]
rng = np.random.default_rng(1)
ids = [np.concatenate([[101], rng.integers(1000, 20000, n - 2), [102]]).astype(np.int32)
       for n in lengths]
m = sinter.Model(model_dir)


def best_of(fn, iters):
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


m.encode(ids)  # warm
t = best_of(lambda: m.encode(ids, batch_size=32), 30)
print(json.dumps({"what": "python encode, token ids, lognormal batch 32",
                  "seq_per_s": round(len(ids) / t, 1), "ms_per_batch": round(t * 1e3, 3)}))
words = "the of and to in is was for on that with as by at from his her it".split()
texts = [" ".join(words[(i + k) % len(words)] for k in range(n - 2)) for i, n in enumerate(lengths)]
t = best_of(lambda: m.encode(texts, batch_size=32), 30)
print(json.dumps({"what": "python encode, texts, lognormal batch 32",
                  "seq_per_s": round(len(texts) / t, 1), "ms_per_batch": round(t * 1e3, 3)}))
tiny = [np.array([101, 102], dtype=np.int32)]
t = best_of(lambda: m.encode(tiny), 2000)
print(json.dumps({"what": "python encode, one 2-token input", "us_per_call": round(t * 1e6, 1)}))
cli = subprocess.run([str(ROOT / "build/sinter"), "bench", "--model", model_dir, "--lengths",
                      str(ROOT / "bench/lengths_lognormal_32.txt"), "--batch", "32", "--json",
                      "--iters", "30"],
                     capture_output=True, text=True, check=True).stdout
print(json.dumps({"what": "sinter bench --lengths (the CLI, same lengths)", "cli": cli.strip()[:400]}))
cli1 = subprocess.run([str(ROOT / "build/sinter"), "bench", "--model", model_dir, "--batch", "1",
                       "--seq", "2", "--json", "--iters", "2000"],
                      capture_output=True, text=True, check=True).stdout
print(json.dumps({"what": "sinter bench --batch 1 --seq 2", "cli": cli1.strip()[:400]}))
