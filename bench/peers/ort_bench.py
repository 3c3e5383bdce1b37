"""ONNX Runtime (CPU EP, fused BERT graph) on the same shapes as `sinter bench`,
side by side with bench/peers/torch_bench.py. Developer-run, not CI: it needs
torch, transformers, onnx and onnxruntime (see bench/peers/README.md):

    OMP_WAIT_POLICY=PASSIVE .venv-fixtures/bin/python bench/peers/ort_bench.py \
        --model DIR --batch 8 --seq 128 --threads 2 [--int8]

The HF folder is exported once with torch.onnx.export (dynamic batch and sequence
axes), optimised with onnxruntime.transformers.optimizer (model_type="bert": fused
Attention / SkipLayerNormalization / BiasGelu / EmbedLayerNormalization), and --int8
adds quantize_dynamic (QInt8 per-channel weights) on top of the optimised graph.
The .onnx files are cached under /tmp/sinter-ort/<folder name>/ (remade when older
than the model's weights or config; --rebuild forces it) and the fused-op counts go
to stderr. Flags, random ids and JSON keys are those of every peer (common.py), plus
"onnxruntime" (version) and "session_create_s": InferenceSession() on the cached
.onnx, the cold-start comparison. process_start_to_first_result_s is interpreter
start to the first (1x4) result with the .onnx cached (null on a run that had to
export; torch is imported only afterwards, to draw the same ids as torch_bench.py)."""
import json
import os
import sys
import time

T_START = time.perf_counter()
CACHE = "/tmp/sinter-ort"

from common import lengths_for, padded_batch, parser, report, time_runs  # noqa: E402


def export(model_dir, path):
    import torch
    from transformers import AutoModel
    # eager attention: the MatMul/Softmax pattern that ORT's BERT fusion recognises
    bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    # Families without token types (MPNet, ModernBERT) take no token_type_ids.
    import inspect
    types = "token_type_ids" in inspect.signature(bert.forward).parameters
    extra = {"use_cache": False} if "use_cache" in inspect.signature(bert.forward).parameters \
        or "kwargs" in inspect.signature(bert.forward).parameters else {}

    class Wrap(torch.nn.Module):  # explicit keyword call; last_hidden_state only
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, *token_type_ids):
            kw = {"token_type_ids": token_type_ids[0]} if token_type_ids else {}
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, **kw, **extra,
                             return_dict=True).last_hidden_state

    model = Wrap()
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    tt = torch.zeros_like(ids)
    axes = {0: "batch", 1: "seq"}
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if types else [])
    with torch.inference_mode():
        torch.onnx.export(
            model, (ids, mask, tt) if types else (ids, mask), path, dynamo=False,
            opset_version=17, input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={**{n: axes for n in names}, "last_hidden_state": axes},
            do_constant_folding=True)


def fused_counts(path):
    import onnx
    from collections import Counter
    ops = Counter(n.op_type for n in onnx.load(path, load_external_data=False).graph.node)
    keep = ("Attention", "MultiHeadAttention", "SkipLayerNormalization", "EmbedLayerNormalization",
            "BiasGelu", "FastGelu", "Gelu", "LayerNormalization", "MatMul", "MatMulInteger",
            "DynamicQuantizeMatMul", "DynamicQuantizeLinear", "QAttention", "QEmbedLayerNormalization",
            "Softmax")
    return {k: ops[k] for k in keep if ops[k]}, sum(ops.values())


def stale(out, *inputs):
    """out is missing or older than any of inputs (so a re-export redoes the rest)."""
    return not os.path.exists(out) or any(os.path.getmtime(out) < os.path.getmtime(i) for i in inputs)


def ensure_export(model_dir, d, rebuild):
    """d/model.onnx exported from model_dir unless a fresh one is there; returns
    its path and whether it was (re)made. Shared with ov_bench.py."""
    raw = os.path.join(d, "model.onnx")
    os.makedirs(d, exist_ok=True)
    src = [os.path.join(model_dir, f) for f in os.listdir(model_dir)
           if f == "config.json" or f.endswith((".safetensors", ".bin"))]
    if not rebuild and not stale(raw, *src):
        return raw, False
    t0 = time.perf_counter()
    export(model_dir, raw)
    print(f"exported {raw} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return raw, True


def build(args, cfg, d):
    """Make (or reuse) model.onnx, model.opt.onnx and model.opt.int8.onnx under d."""
    raw, built = ensure_export(args.model, d, args.rebuild)
    opt, q8 = (os.path.join(d, f) for f in ("model.opt.onnx", "model.opt.int8.onnx"))
    if args.rebuild or stale(opt, raw):
        from onnxruntime.transformers.optimizer import optimize_model
        t0 = time.perf_counter()
        m = optimize_model(raw, model_type="bert", num_heads=cfg["num_attention_heads"],
                           hidden_size=cfg["hidden_size"])
        m.save_model_to_file(opt)
        print(f"optimised -> {opt} in {time.perf_counter() - t0:.1f}s; fusion stats "
              f"{m.get_fused_operator_statistics()}", file=sys.stderr)
        built = True
    if args.int8 and (args.rebuild or stale(q8, opt)):
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        t0 = time.perf_counter()
        # per_channel: the per-tensor default loses far more at the same speed (MiniLM,
        # the 37 golden sentence embeddings vs fp32: worst cosine 0.858 vs 0.971, mean
        # 0.942 vs 0.989). Shape inference cannot type the fused contrib ops' outputs: fp32.
        quantize_dynamic(opt, q8, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        print(f"quantized -> {q8} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        built = True
    path = q8 if args.int8 else opt
    raw_ops, _ = fused_counts(raw)
    ops, n = fused_counts(path)
    print(f"ops in {os.path.basename(raw)}: {raw_ops}", file=sys.stderr)
    print(f"ops in {os.path.basename(path)} ({n} nodes): {ops}", file=sys.stderr)
    return path, built


def main():
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--int8", action="store_true", help="quantize_dynamic (QInt8 per-channel weights)")
    p.add_argument("--rebuild", action="store_true", help="re-export and re-optimise")
    args = p.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    name = os.path.basename(os.path.normpath(args.model))
    path, built = build(args, cfg, os.path.join(CACHE, name))

    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    session_create = time.perf_counter() - t0
    names = {i.name for i in sess.get_inputs()}

    def feed(ids, mask):
        f = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return {k: v for k, v in f.items() if k in names}

    tiny = np.array([[101, 1000, 1001, 102]], dtype=np.int64)
    sess.run(None, feed(tiny, np.ones_like(tiny)))
    first = time.perf_counter() - T_START

    import torch  # the same ids as the other peers (imported after the cold-start timing)
    lens = lengths_for(args)
    ids, mask = padded_batch(lens, cfg["vocab_size"])
    inputs = feed(ids.numpy(), mask.numpy())
    times = time_runs(lambda: sess.run(None, inputs), args.warmup, args.iters)
    report("onnxruntime-int8" if args.int8 else "onnxruntime", args.model, lens, times,
           torch=torch.__version__, onnxruntime=ort.__version__,
           first=None if built else round(first, 3), session_create_s=round(session_create, 3))


if __name__ == "__main__":
    sys.exit(main())
