"""OpenVINO (CPU plugin) on the same shapes as `sinter bench`, side by side with
torch_bench.py and ort_bench.py. Developer-run, not CI: it needs the peers' venv
(bench/peers/setup.sh):

    OMP_WAIT_POLICY=PASSIVE .venv-peers/bin/python bench/peers/ov_bench.py \
        --model DIR --batch 8 --seq 128 --threads 2 [--bf16]

The model is the plain ONNX export that ort_bench.py makes (torch.onnx.export,
dynamic batch and sequence axes, cached under /tmp/sinter-ort/<folder>/model.onnx),
read by openvino.Core and compiled for the CPU with the LATENCY hint,
INFERENCE_NUM_THREADS=--threads and one stream: OpenVINO does its own fusions
(MHA, LayerNorm, GELU) on that graph. --bf16 asks for INFERENCE_PRECISION_HINT=bf16,
OpenVINO's standard low-precision mode on CPUs with AVX512_BF16 or AMX; on a CPU
without them the plugin would silently run f32, so the script refuses instead. The
precision the compiled model reports is printed in the JSON ("precision").

Flags, random ids and JSON keys are those of every peer (common.py), plus "openvino"
(version) and "compile_s" (core.compile_model on the cached .onnx: the cold-start
number). process_start_to_first_result_s is interpreter start to the first (1x4)
result with the .onnx cached (null on a run that had to export)."""
import json
import os
import sys
import time

T_START = time.perf_counter()

from common import lengths_for, padded_batch, parser, report, time_runs  # noqa: E402
from ort_bench import CACHE, ensure_export  # noqa: E402


def main():
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--bf16", action="store_true", help="INFERENCE_PRECISION_HINT=bf16")
    p.add_argument("--rebuild", action="store_true", help="re-export the .onnx")
    args = p.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    d = os.path.join(CACHE, os.path.basename(os.path.normpath(args.model)))
    raw, built = ensure_export(args.model, d, args.rebuild)

    import numpy as np
    import openvino as ov
    core = ov.Core()
    caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if args.bf16 and "BF16" not in caps:
        print(f"ov_bench: this CPU's OpenVINO plugin offers {caps}, no BF16: it would run "
              "f32 under a bf16 label, so --bf16 is refused", file=sys.stderr)
        return 2
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": args.threads,
              "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "bf16" if args.bf16 else "f32"}
    t0 = time.perf_counter()
    compiled = core.compile_model(core.read_model(raw), "CPU", config)
    compile_s = time.perf_counter() - t0
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)
    request = compiled.create_infer_request()
    names = {i.get_any_name() for i in compiled.inputs}

    def feed(ids, mask):
        f = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return {k: v for k, v in f.items() if k in names}

    tiny = np.array([[101, 1000, 1001, 102]], dtype=np.int64)
    request.infer(feed(tiny, np.ones_like(tiny)))
    first = time.perf_counter() - T_START

    import torch  # the same ids as the other peers (imported after the cold-start timing)
    lens = lengths_for(args)
    ids, mask = padded_batch(lens, cfg["vocab_size"])
    inputs = feed(ids.numpy(), mask.numpy())
    times = time_runs(lambda: request.infer(inputs), args.warmup, args.iters)
    report("openvino-bf16" if args.bf16 else "openvino", args.model, lens, times,
           torch=torch.__version__, openvino=ov.__version__, precision=precision,
           first=None if built else round(first, 3), compile_s=round(compile_s, 3))


if __name__ == "__main__":
    sys.exit(main())
