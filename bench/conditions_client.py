"""The in-process timing client of bench/conditions.sh: one condition, one
process. It loads the model once per system, then times N requests of one
16-token input ("short") and of the 32-sequence log-normal batch ("lognormal",
lengths from bench/lengths_lognormal_32.txt), back to back and with each --pauses
gap (ms) slept between requests, and prints one JSON line per point:

    {"system", "condition", "kind", "pause_ms", "threads", "n", "p50_ms", "p99_ms",
     "max_ms", "mean_ms", "cpu_s", "wall_s", ...}

Systems (--system, several comma-separated run in turn in the same process):
  sinter           sinter.Model(MODEL, threads=T).encode(list of token-id arrays)
                   (padding-free, pooled and normalised: what a caller gets)
  onnxruntime      the fused fp32 graph bench/peers/ort_bench.py makes
                   (/tmp/sinter-ort/<name>/model.opt.onnx), CPU EP,
                   intra_op_num_threads=T, inter_op 1, sequential, ORT_ENABLE_ALL;
                   the batch padded to its longest row with an attention mask;
                   last_hidden_state, as in ort_bench.py
  sinter-torch-compile
                   torch.compile(BertModel, backend="sinter") called with the
                   padded ids and mask (the torch.compile backend path; the
                   condition gets ", torch.compile(backend=sinter)")

--torch loaded: import torch first, torch.set_num_threads(T), and run the model as
a transformers BertModel forward 3 times (4 x 64), so PyTorch's thread pools exist
in the process before the timed calls; --torch interleaved: also one untimed torch
matmul (256 x 384 x 1536) right before every timed call, as a pipeline doing work
in PyTorch between encoder calls would (the condition gets ", a torch matmul before
each call"); --torch loaded,interleaved: both in turn.
--idle S: afterwards, sleep S seconds holding the model(s) and print the CPU
(utime+stime of the whole process, getrusage) burnt meanwhile.

The token ids are drawn once with a fixed seed (numpy, ids in [1000, vocab),
[CLS]=101 first and [SEP]=102 last), so sinter and ONNX Runtime get the same rows.
p99 is nearest-rank (the max when n < 100). Needs numpy and the system's package.
"""
import argparse
import json
import os
import resource
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_inputs(vocab, lengths_file):
    rng = np.random.RandomState(0)

    def row(n):
        ids = rng.randint(1000, vocab, size=n).astype(np.int64)
        ids[0], ids[-1] = 101, 102
        return ids

    with open(lengths_file) as f:
        lens = [int(x) for x in f.read().split()]
    return {"short": [row(16)], "lognormal": [row(n) for n in lens]}


def padded(rows):
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


def percentile(sorted_ms, q):
    """Nearest rank: the smallest value with at least q % of the samples at or below it."""
    if not sorted_ms:
        return None
    k = max(0, min(len(sorted_ms) - 1, int(np.ceil(q / 100 * len(sorted_ms))) - 1))
    return sorted_ms[k]


# ----------------------------------------------------------------------------- systems

def sinter_runner(args, cfg, threads):
    import sinter
    m = sinter.Model(args.model, threads=threads or None)
    info = {"sinter": sinter.__version__, "sinter_cpu_count": sinter.cpu_count()}

    def make(rows):
        rows32 = [r.astype(np.int32) for r in rows]
        return lambda: m.encode(rows32, batch_size=32)
    return make, info, m


def ort_runner(args, cfg, threads):
    import onnxruntime as ort
    name = os.path.basename(os.path.normpath(args.model))
    path = args.onnx or os.path.join("/tmp/sinter-ort", name, "model.opt.onnx")
    if not os.path.exists(path):
        sys.exit(f"conditions_client: {path} is missing: run bench/peers/ort_bench.py --model "
                 f"{args.model} once (it exports and optimises)")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}

    def make(rows):
        ids, mask = padded(rows)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feed = {k: v for k, v in feed.items() if k in names}
        return lambda: sess.run(None, feed)
    return make, {"onnxruntime": ort.__version__, "onnx_file": path}, sess


def torch_compile_runner(args, cfg, threads, bert):
    import torch
    import sinter  # noqa: F401 - the "sinter" backend comes with the package
    opts = {"threads": threads} if threads else {}  # the local compile cache, as a user's
    compiled = torch.compile(bert, backend="sinter", options=opts)

    def make(rows):
        ids, mask = padded(rows)
        ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)

        def call():
            with torch.inference_mode():
                return compiled(input_ids=ids, attention_mask=mask)
        return call
    return make, {"torch": torch.__version__}, compiled


def load_torch(args, cfg, threads):
    """import torch, a BertModel of the model's config with its weights, three eager
    forwards: PyTorch's thread pools now exist in this process."""
    import torch
    from transformers import BertModel
    if threads:
        torch.set_num_threads(threads)
    bert = BertModel.from_pretrained(args.model).eval()
    ids = torch.randint(1000, cfg["vocab_size"], (4, 64), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        for _ in range(3):
            bert(input_ids=ids, attention_mask=torch.ones_like(ids))
    a, b = torch.randn(256, 384), torch.randn(384, 1536)

    def between():
        with torch.inference_mode():
            torch.mm(a, b)
    return bert, between, {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


# ------------------------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--system", required=True,
                   help="sinter, onnxruntime or sinter-torch-compile; several, comma-separated, "
                        "run one after another in this process")
    p.add_argument("--model", default=os.path.join(ROOT, ".cache/models/all-MiniLM-L6-v2"))
    p.add_argument("--onnx", default=None, help="ONNX file (default: ort_bench.py's cache)")
    p.add_argument("--condition", default="quiet")
    p.add_argument("--threads", type=int, default=0,
                   help="compute threads (0: sinter's default, sinter.cpu_count(); "
                        "ONNX Runtime needs a number)")
    p.add_argument("--kinds", default="short,lognormal")
    p.add_argument("--pauses", default="0", help="ms slept between requests, comma-separated")
    p.add_argument("--n-short", type=int, default=300)
    p.add_argument("--n-batch", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before each point")
    p.add_argument("--torch", default="none",
                   help="none, loaded, interleaved, or loaded,interleaved (both, in turn)")
    p.add_argument("--idle", type=float, default=0, help="then idle this long, report CPU")
    p.add_argument("--lengths", default=os.path.join(ROOT, "bench/lengths_lognormal_32.txt"))
    args = p.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    systems = args.system.split(",")
    modes = args.torch.split(",")
    for s in systems:
        if s not in ("sinter", "onnxruntime", "sinter-torch-compile"):
            sys.exit(f"conditions_client: unknown system {s}")
    for m in modes:
        if m not in ("none", "loaded", "interleaved"):
            sys.exit(f"conditions_client: unknown --torch {m}")
    if "onnxruntime" in systems and not args.threads:
        sys.exit("conditions_client: onnxruntime needs --threads N")
    if "sinter-torch-compile" in systems and modes == ["none"]:
        modes = ["loaded"]  # the backend path runs in a PyTorch process by definition

    extra = {}
    bert = between = None
    if modes != ["none"]:
        bert, between, info = load_torch(args, cfg, args.threads)
        extra.update(info)
    inputs = make_inputs(cfg["vocab_size"], args.lengths)
    keep = []
    last = None
    for system in systems:
        threads = args.threads
        if system == "sinter":
            make, info, k = sinter_runner(args, cfg, threads)
            threads = threads or info["sinter_cpu_count"]
        elif system == "onnxruntime":
            make, info, k = ort_runner(args, cfg, threads)
        else:
            make, info, k = torch_compile_runner(args, cfg, threads, bert)
            if not threads:
                import sinter
                threads = sinter.cpu_count()
        keep.append(k)
        last = (system, threads)
        for mode in modes:
            cond = args.condition
            if system == "sinter-torch-compile":
                cond += ", torch.compile(backend=sinter)"
            if mode == "interleaved":
                cond += ", a torch matmul before each call"
            for kind in args.kinds.split(","):
                rows = inputs[kind]
                call = make(rows)
                n = args.n_short if kind == "short" else args.n_batch
                for pause_ms in (float(x) for x in args.pauses.split(",")):
                    for _ in range(args.warmup):
                        call()
                    times = []
                    c0 = cpu_s()
                    w0 = time.perf_counter()
                    for _ in range(n):
                        if pause_ms:
                            time.sleep(pause_ms / 1e3)
                        if mode == "interleaved":
                            between()
                        t0 = time.perf_counter()
                        call()
                        times.append((time.perf_counter() - t0) * 1e3)
                    wall = time.perf_counter() - w0
                    cpu = cpu_s() - c0
                    times.sort()
                    print(json.dumps({
                        "system": system, "condition": cond, "kind": kind, "pause_ms": pause_ms,
                        "threads": threads, "torch_in_process": mode, "n": n,
                        "tokens": int(sum(len(r) for r in rows)),
                        "p50_ms": round(percentile(times, 50), 3),
                        "p99_ms": round(percentile(times, 99), 3), "max_ms": round(times[-1], 3),
                        "mean_ms": round(sum(times) / n, 3), "cpu_s": round(cpu, 3),
                        "wall_s": round(wall, 3), **extra, **info}), flush=True)
    if args.idle > 0:
        c0 = cpu_s()  # right after the last call: a pool still spinning counts
        time.sleep(args.idle)
        print(json.dumps({"system": last[0], "condition": "idle", "kind": "idle-process",
                          "systems_in_process": systems, "torch_in_process": args.torch,
                          "threads": last[1], "idle_s": args.idle,
                          "idle_cpu_s": round(cpu_s() - c0, 4)}), flush=True)
    # the whole process, for conditions.sh's count of the CPU used by others meanwhile
    print(json.dumps({"system": args.system, "condition": args.condition, "kind": "process",
                      "process_cpu_s": round(cpu_s(), 3),
                      "process_wall_s": round(time.perf_counter() - T_START, 3)}), flush=True)
    del keep


if __name__ == "__main__":
    main()
