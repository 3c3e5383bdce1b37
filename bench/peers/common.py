"""What every peer script shares: the command line, the lengths (identical to
`sinter bench`'s), the token ids, the timed loop and the JSON line. Standard
library only at import time; torch is imported where the ids are drawn."""
import argparse
import json
import math
import statistics
import time


def lognormal_lengths(n, max_len=128):
    """The lengths `sinter bench --lengths lognormal` draws (tools/sinter/cmd_bench.c):
    the same xorshift64 generator and Box-Muller step, in doubles, so every peer and
    sinter get the same batch. Median 22, 95th percentile 80, clamped to [3, 128]."""
    mask = (1 << 64) - 1
    rng = 0x2545F4914F6CDD1D

    def step(r):
        r ^= (r << 13) & mask
        r ^= r >> 7
        r ^= (r << 17) & mask
        return r

    out = []
    for _ in range(n):
        rng = step(rng)
        u1 = (rng >> 11) / 9007199254740992.0 + 1e-12
        rng = step(rng)
        u2 = (rng >> 11) / 9007199254740992.0
        z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
        x = math.exp(math.log(22.0) + z * math.log(80.0 / 22.0) / 1.645)
        length = math.floor(x + 0.5)  # C's lround for positive x
        out.append(min(max(3, min(128, length)), max_len))
    return out


def parser(description):
    """The flags every peer takes; scripts add their own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", required=True, help="Hugging Face model folder")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--lengths", default=None, help="lognormal or a FILE of lengths")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    return p


def lengths_for(args):
    if args.lengths and args.lengths != "lognormal":  # a file, one length per line
        with open(args.lengths) as f:
            return [int(x) for x in f.read().split()][:args.batch]
    if args.lengths != "lognormal":
        return [args.seq] * args.batch
    return lognormal_lengths(args.batch)


def padded_batch(lens, vocab_size):
    """Token ids (torch.randint(1000, vocab), generator seed 0) padded to the
    longest length, and the attention mask: the same tensors in every peer."""
    import torch
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, vocab_size, (len(lens), max(lens)), generator=g)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lens):
        mask[i, :n] = 1
    return ids, mask


def time_runs(fn, warmup, iters):
    """Calls fn() warmup + iters times; returns the timed iterations' seconds."""
    times = []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


def report(peer, model, lens, times, **extra):
    """Prints the JSON line bench/compare reads: batch / mean time as seq_per_s,
    the median and the slowest iteration as p50 and p99."""
    mean = statistics.mean(times)
    times = sorted(times)
    print(json.dumps({
        "peer": peer, **{k: v for k, v in extra.items() if k != "first"},
        "model": model, "batch": len(lens), "tokens": sum(lens),
        "seq_per_s": round(len(lens) / mean, 3),
        "p50_ms": round(times[len(times) // 2] * 1e3, 2), "p99_ms": round(times[-1] * 1e3, 2),
        "process_start_to_first_result_s": extra.get("first")}))
