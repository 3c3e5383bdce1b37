#!/usr/bin/env python3
"""idle_gaps.py — latency of one 16-token request to sinter.Model after
pauses of 0, 10, 50 and 200 ms (bench/RESULTS.md "Idle gaps"): 60 requests
per pause after 20 warm-ups, p50 and p90 in ms. The pool's idle spin comes
from SINTER_SPIN_US (microseconds; 200 by default) and its learnt linger
through the gaps between runs is capped by SINTER_LINGER_MAX_US (100000 by
default; 0 turns it off, the pool before the linger).

    SINTER_LINGER_MAX_US=0 .venv/bin/python bench/idle_gaps.py [THREADS] [MODEL]
"""
import sys
import time

import numpy as np

import sinter

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
model = sys.argv[2] if len(sys.argv) > 2 else ".cache/models/all-MiniLM-L6-v2"
m = sinter.Model(model, threads=threads)
ids = [np.arange(1000, 1016, dtype=np.int32)]
for _ in range(20):
    m.encode(ids)
for pause in (0, 0.01, 0.05, 0.2):
    ts = []
    for _ in range(60):
        if pause:
            time.sleep(pause)
        t = time.perf_counter()
        m.encode(ids)
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    print(f"threads {threads} pause {pause * 1000:.0f} ms: p50 {ts[len(ts) // 2]:.2f} "
          f"p90 {ts[int(len(ts) * 0.9)]:.2f}")
