"""llama.cpp (through llama-cpp-python) as an embedder on the same shapes as `sinter
bench`, for the side-by-side tables (bench/compare, bench/RESULTS.md). Developer-run,
not CI: it needs the peers' venv with llama-cpp-python built from its source
distribution and the GGUF converter that distribution vendors (bench/peers/setup.sh):

    .venv-peers/bin/python bench/peers/llamacpp_bench.py --model DIR --quant q8_0 \
        --batch 8 --seq 512 --threads 2
    .venv-peers/bin/python bench/peers/llamacpp_bench.py --model DIR --cosine IDS.json \
        [--sinter build/sinter]

The folder (a Qwen3 checkpoint) is converted once by llama.cpp's convert_hf_to_gguf.py
(`--outtype f32` or `q8_0`) into /tmp/sinter-gguf/<folder>/model-<quant>.gguf, remade
when older than the folder's config.json or weights. A folder without a tokenizer
(the synthetic ones of `sinter bench --config`) borrows the tiny Qwen3 fixture's
(tests/fixtures/models/qwen3_st) for the conversion: the converter needs one, the
benchmark never uses it (it feeds token ids), and the vocabulary is padded to the
config's vocab_size as the converter does for any checkpoint. A tokenizer whose
pre-tokenizer the converter does not know is written as Qwen2's ("qwen2").

Runs `Llama(embedding=True, pooling_type=LLAMA_POOLING_TYPE_LAST)` (last-token
pooling, as Qwen3-Embedding) with n_threads = n_threads_batch = --threads, and feeds
token ids, not text (the same ids as the other peers: common.padded_batch, without
the padding), so tokenization never enters. --pack batch (default) puts every
sequence of the batch into llama_decode calls of up to --n-batch tokens (default 512,
llama-cpp-python's n_batch; 0: all in one), each as its own sequence id, exactly as
Llama.embed does for a list of texts; --pack seq decodes one sequence per call.
--cosine FILE instead prints the cosine of llama.cpp's embeddings to references: FILE
is JSON, a list of {"input_ids": [...], "embedding": [...]} (a golden file's "cases":
the sentence-transformers embeddings) or of bare id lists, whose reference is then
transformers' float32 last-token hidden state of the folder on those ids
(`--cosine random`: the benchmark's ids for --batch and --seq/--lengths);
--sinter BIN adds `sinter embed --ids --pool lasttoken` at f32, int8 and bf16.
"""
import json
import os
import resource
import subprocess
import sys
import time

T_START = time.perf_counter()

from common import lengths_for, padded_batch, parser, report, time_runs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FALLBACK_TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "models", "qwen3_st")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                   "special_tokens_map.json")


def converter_dir():
    """Where setup.sh put convert_hf_to_gguf.py (and its conversion/ package) from
    the llama-cpp-python source distribution."""
    d = os.environ.get("SINTER_GGUF_CONVERTER") or os.path.join(sys.prefix, "share", "llama.cpp")
    if not os.path.exists(os.path.join(d, "convert_hf_to_gguf.py")):
        print(f"llamacpp_bench: no convert_hf_to_gguf.py in {d} (bash bench/peers/setup.sh)",
              file=sys.stderr)
        sys.exit(2)
    return d


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def gguf_path(model_dir, quant):
    """Converts the folder once (in a child process: the converter imports torch and
    holds the whole checkpoint); returns (path, seconds spent converting or None)."""
    name = os.path.basename(os.path.normpath(model_dir))
    out_dir = os.path.join("/tmp/sinter-gguf", name)
    out = os.path.join(out_dir, f"model-{quant}.gguf")
    sources = [os.path.join(model_dir, f) for f in os.listdir(model_dir)
               if f == "config.json" or f.endswith(".safetensors")]
    if os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(s) for s in sources):
        return out, None
    os.makedirs(out_dir, exist_ok=True)
    # A staging folder of links: the model's files, plus a borrowed tokenizer when it
    # has none (the converter always writes a vocabulary).
    stage = os.path.join(out_dir, "hf")
    os.makedirs(stage, exist_ok=True)
    for f in os.listdir(stage):
        os.unlink(os.path.join(stage, f))
    has_tok = os.path.exists(os.path.join(model_dir, "tokenizer.json"))
    for f in os.listdir(model_dir):  # files and module folders (1_Pooling: pooling type)
        os.symlink(os.path.abspath(os.path.join(model_dir, f)), os.path.join(stage, f))
    if not has_tok:
        print(f"llamacpp_bench: {model_dir} has no tokenizer; converting with {FALLBACK_TOKENIZER}'s",
              file=sys.stderr)
        for f in TOKENIZER_FILES:
            src = os.path.join(FALLBACK_TOKENIZER, f)
            if os.path.exists(src) and not os.path.exists(os.path.join(stage, f)):
                os.symlink(src, os.path.join(stage, f))
    t0 = time.perf_counter()
    code = (
        "import sys, runpy\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from conversion import base\n"
        "orig = base.TextModel.get_vocab_base_pre\n"
        "def pre(self, tokenizer):\n"
        "    try:\n"
        "        return orig(self, tokenizer)\n"
        "    except NotImplementedError:\n"
        "        print('llamacpp_bench: unknown pre-tokenizer, written as qwen2', file=sys.stderr)\n"
        "        return 'qwen2'\n"
        "base.TextModel.get_vocab_base_pre = pre\n"
        "script = sys.argv[1] + '/convert_hf_to_gguf.py'\n"
        "sys.argv = [script] + sys.argv[2:]\n"
        "runpy.run_path(script, run_name='__main__')\n")
    tmp = out + ".tmp"
    proc = subprocess.run([sys.executable, "-c", code, converter_dir(), stage, "--outtype", quant,
                           "--outfile", tmp], capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        print(f"llamacpp_bench: convert_hf_to_gguf.py failed (exit {proc.returncode})",
              file=sys.stderr)
        sys.exit(1)
    os.replace(tmp, out)
    return out, round(time.perf_counter() - t0, 1)


def open_model(path, n_ctx, threads, flash_attn):
    from llama_cpp import LLAMA_POOLING_TYPE_LAST, Llama
    return Llama(model_path=path, embedding=True, pooling_type=LLAMA_POOLING_TYPE_LAST,
                 n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, n_threads=threads,
                 n_threads_batch=threads, flash_attn=flash_attn, verbose=False)


def embed_ids(llm, seqs, pack):
    """Llama.embed's loop on token ids: sequences packed into one llama_decode (each
    its own sequence id, every token an output, as Llama.embed marks them), or one
    decode per sequence. Returns the pooled (last-token) embeddings."""
    import llama_cpp
    n_embd = llm.n_embd()
    out = []

    def flush(n):
        llm._ctx.kv_cache_clear()
        llm._ctx.decode(llm._batch)
        llm._batch.reset()
        for i in range(n):
            out.append(llama_cpp.llama_get_embeddings_seq(llm._ctx.ctx, i)[:n_embd])

    llm._batch.reset()
    n_seq = n_tok = 0
    for ids in seqs:
        if n_seq and (pack == "seq" or n_tok + len(ids) > llm.n_batch):
            flush(n_seq)
            n_seq = n_tok = 0
        llm._batch.add_sequence(ids, n_seq, True)
        n_seq += 1
        n_tok += len(ids)
    flush(n_seq)
    llm._ctx.kv_cache_clear()
    return out


def compare(a, b):
    """(cosine, largest difference of the unit vectors): embeddings as compared."""
    import numpy as np
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return float(a @ b), float(np.abs(a - b).max())


def sinter_embeddings(binary, model_dir, seqs, dtype, threads):
    lines = "\n".join(" ".join(str(t) for t in s) for s in seqs) + "\n"
    proc = subprocess.run([binary, "embed", "--model", model_dir, "--ids", "--pool", "lasttoken",
                           "--dtype", dtype, "--threads", str(threads)], input=lines,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sinter embed --dtype {dtype}: {proc.stderr.strip()[-300:]}")
    rows = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return [r["embedding"] for r in sorted(rows, key=lambda r: r["index"])]


def run_cosine(args):
    if args.cosine == "random":  # the benchmark's own ids: --batch, --seq / --lengths
        from transformers import AutoConfig
        lens = lengths_for(args)
        ids, _ = padded_batch(lens, AutoConfig.from_pretrained(args.model).vocab_size)
        cases = [ids[i, :n].tolist() for i, n in enumerate(lens)]
    else:
        with open(args.cosine) as f:
            cases = json.load(f)
    if isinstance(cases, dict):
        cases = cases["cases"]
    seqs = [c["input_ids"] if isinstance(c, dict) else c for c in cases]
    refs = [c.get("embedding") if isinstance(c, dict) else None for c in cases]
    source = "file"
    if any(r is None for r in refs):
        import torch
        from transformers import AutoModel
        torch.set_num_threads(args.threads)
        model = AutoModel.from_pretrained(args.model, dtype=torch.float32).eval()
        with torch.inference_mode():
            refs = [model(input_ids=torch.tensor([s])).last_hidden_state[0, -1].tolist()
                    for s in seqs]
        source = f"transformers {__import__('transformers').__version__} float32, last token"
    rows = {}
    for quant in args.quants.split(","):
        path, _ = gguf_path(args.model, quant)
        llm = open_model(path, max(512, max(len(s) for s in seqs)), args.threads, args.flash_attn)
        embs = embed_ids(llm, seqs, "seq")
        del llm
        rows[f"llama.cpp-{quant}"] = [compare(e, r) for e, r in zip(embs, refs)]
    if args.sinter:
        for dtype in ("f32", "int8", "bf16"):
            try:
                embs = sinter_embeddings(args.sinter, args.model, seqs, dtype, args.threads)
                rows[f"sinter-{dtype}"] = [compare(e, r) for e, r in zip(embs, refs)]
            except RuntimeError as e:
                rows[f"sinter-{dtype}"] = str(e)
    print(json.dumps({"model": args.model, "reference": source, "sequences": len(seqs),
                      "tokens": sum(len(s) for s in seqs),
                      "cosine": {k: (v if isinstance(v, str) else
                                     {"min": round(min(c for c, _ in v), 9),
                                      "mean": round(sum(c for c, _ in v) / len(v), 9),
                                      "max_abs_unit": float(f"{max(d for _, d in v):.3g}")})
                                 for k, v in rows.items()}}))


def main():
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--quant", default="f32", choices=["f32", "q8_0", "bf16", "f16"],
                   help="GGUF weight type (convert_hf_to_gguf.py --outtype)")
    p.add_argument("--pack", default="batch", choices=["batch", "seq"],
                   help="batch: sequences packed into decodes of up to --n-batch tokens (as "
                        "Llama.embed); seq: one decode per sequence")
    p.add_argument("--n-batch", type=int, default=512,
                   help="tokens per llama_decode (n_ctx = n_batch = n_ubatch; raised to the "
                        "longest sequence; 0: the whole batch in one decode). Default 512, "
                        "llama-cpp-python's")
    p.add_argument("--flash-attn", action="store_true", help="llama.cpp's flash attention")
    p.add_argument("--cosine", help="JSON cases, or 'random' (the benchmark's ids): print "
                        "cosines to their references instead of timing")
    p.add_argument("--quants", default="f32,q8_0", help="--cosine: the GGUF types to check")
    p.add_argument("--sinter", help="--cosine: also check this sinter binary (f32, int8, bf16)")
    args = p.parse_args()
    if args.cosine:
        return run_cosine(args)
    import llama_cpp
    lens = lengths_for(args)
    from transformers import AutoConfig
    vocab = AutoConfig.from_pretrained(args.model).vocab_size
    ids, _ = padded_batch(lens, vocab)
    seqs = [ids[i, :n].tolist() for i, n in enumerate(lens)]
    path, convert_s = gguf_path(args.model, args.quant)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    n_ctx = max(args.n_batch or sum(lens), max(lens))
    n_ctx = (n_ctx + 255) // 256 * 256
    llm = open_model(path, n_ctx, args.threads, args.flash_attn)
    load_s = time.perf_counter() - t0
    embed_ids(llm, [seqs[0][:4]], "seq")
    first = time.perf_counter() - T_START
    times = time_runs(lambda: embed_ids(llm, seqs, args.pack), args.warmup, args.iters)
    report("llama.cpp" + ("" if args.quant == "f32" else "-" + args.quant), args.model, lens,
           times, llama_cpp=llama_cpp.__version__, quant=args.quant, pack=args.pack, n_batch=n_ctx,
           flash_attn=args.flash_attn, gguf_bytes=os.path.getsize(path), convert_s=convert_s,
           load_s=round(load_s, 3), rss_model_mb=round(rss_mb() - rss0, 1),
           maxrss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           tokens_per_s=round(sum(lens) * len(times) / sum(times), 1),
           first=None if convert_s is not None else round(first, 3))


if __name__ == "__main__":
    sys.exit(main())
