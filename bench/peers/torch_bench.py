"""PyTorch eager (transformers) on the same shapes as `sinter bench`, for the
side-by-side table in bench/RESULTS.md. Developer-run, not CI: it needs torch and
transformers (e.g. the .venv-fixtures made by scripts/make_fixtures.py):

    OMP_WAIT_POLICY=PASSIVE .venv-fixtures/bin/python bench/peers/torch_bench.py \
        --model DIR --batch 8 --seq 128 --threads 2

--lengths lognormal pads each batch to its longest sequence (dynamic padding,
the standard practice). --cold-start times process start to first result."""
import argparse
import json
import math
import os
import statistics
import sys
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


def lengths_for(args):
    if args.lengths and args.lengths != "lognormal":  # a file, one length per line
        with open(args.lengths) as f:
            return [int(x) for x in f.read().split()][:args.batch]
    if args.lengths != "lognormal":
        return [args.seq] * args.batch
    return lognormal_lengths(args.batch)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--lengths", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--compile", action="store_true", help="torch.compile (inductor)")
    args = p.parse_args()
    t_start = time.perf_counter()
    import torch
    from transformers import AutoModel
    torch.set_num_threads(args.threads)
    model = AutoModel.from_pretrained(args.model).eval()
    if args.compile:
        model = torch.compile(model)
    lens = lengths_for(args)
    longest = max(lens)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, model.config.vocab_size, (len(lens), longest), generator=g)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lens):
        mask[i, :n] = 1
    times = []
    with torch.inference_mode():
        model(input_ids=ids[:1, :4], attention_mask=mask[:1, :4])
        first = time.perf_counter() - t_start
        for i in range(args.warmup + args.iters):
            t0 = time.perf_counter()
            model(input_ids=ids, attention_mask=mask)
            if i >= args.warmup:
                times.append(time.perf_counter() - t0)
    mean = statistics.mean(times)
    times.sort()
    print(json.dumps({
        "peer": "torch.compile" if args.compile else "pytorch-eager", "torch": torch.__version__,
        "model": args.model, "batch": len(lens), "tokens": sum(lens),
        "seq_per_s": round(len(lens) / mean, 3),
        "p50_ms": round(times[len(times) // 2] * 1e3, 2), "p99_ms": round(times[-1] * 1e3, 2),
        "process_start_to_first_result_s": round(first, 3)}))


if __name__ == "__main__":
    sys.exit(main())
