#!/usr/bin/env python3
"""bench_tokenize.py — tokenizer throughput, sinter vs Hugging Face tokenizers,
single-threaded (developer-run; a benchmark, not a test).

Uses the .venv-tokfix environment made by scripts/make_tokenizer_fixtures.py
(run that first). Compiles bench/tokenize_bench.c with gcc -O2, then encodes
two inputs with the fixture MiniLM tokenizer (truncation and padding off):
the fixture corpus (multilingual, adversarial) and plain English. Hugging Face
runs Tokenizer.encode_batch in batches of the same size with one thread
(RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false). Both sides report the
best of ROUNDS passes. Prints a Markdown table; --write updates bench/TOKENIZER.md.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_PY = os.path.join(ROOT, ".venv-tokfix", "bin", "python")
if os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(ROOT, ".venv-tokfix")):
    if not os.path.exists(VENV_PY):
        sys.exit("run scripts/make_tokenizer_fixtures.py first (it creates .venv-tokfix)")
    os.execv(VENV_PY, [VENV_PY, os.path.abspath(__file__), *sys.argv[1:]])

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402

MODEL = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "minilm")
ROUNDS = 5
BATCH = 64
BUILD = "/tmp/sinter_tokenize_bench"


def build():
    srcs = [os.path.join(ROOT, "src", "base", f) for f in ("status.c", "file.c")]
    tdir = os.path.join(ROOT, "src", "tokenizer")
    srcs += sorted(os.path.join(tdir, f) for f in os.listdir(tdir) if f.endswith(".c"))
    cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-march=native", "-I" + ROOT + "/include",
           "-I" + ROOT + "/src", *srcs, os.path.join(ROOT, "bench", "tokenize_bench.c"),
           "-fopenmp", "-lcjson", "-lutf8proc", "-lonig", "-lpthread", "-lm", "-o", BUILD]
    subprocess.check_call(cmd)
    return " ".join(cmd)


def inputs():
    corpus = []
    with open(os.path.join(ROOT, "tests", "fixtures", "tokenizer", "corpus.jsonl")) as fh:
        for line in fh:
            t = bytes.fromhex(json.loads(line)["hex"]).decode("utf-8")
            corpus.append(t.replace("\n", " ").replace("\r", " "))
    words = ("the of and to in a is that for it as was with be by on not he this are or his "
             "from at which but have an they you were her she there been one all we their has "
             "would when if so no will more can about said who what up out them into some time "
             "tokenization embeddings transformer sentence similarity running international "
             "government information development understanding performance, results. However; "
             "(see Table 3) don't it's 2024 100 users' models").split()
    import random
    rng = random.Random(7)
    english = []
    for _ in range(20000):
        n = rng.randint(8, 40)
        s = " ".join(rng.choice(words) for _ in range(n))
        english.append(s[0].upper() + s[1:] + ".")
    out = {}
    for name, lines in (("corpus", corpus), ("english", english)):
        path = "/tmp/sinter_tok_bench_%s.txt" % name
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        out[name] = (path, lines)
    return out


def run_hf(lines):
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    best, tokens = 1e30, 0
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(lines), BATCH):
            for e in tok.encode_batch(lines[i:i + BATCH]):
                n += len(e.ids)
        best = min(best, time.perf_counter() - t0)
        tokens = n
    nbytes = sum(len(s.encode()) for s in lines)
    return dict(tokens=tokens, seconds=best, tokens_per_s=tokens / best,
                mb_per_s=nbytes / best / 1e6)


def main():
    cmd = build()
    rows = []
    for name, (path, lines) in inputs().items():
        out = subprocess.check_output([BUILD, MODEL, path, str(ROUNDS), str(BATCH)], text=True)
        ours = json.loads(out)
        hf = run_hf(lines)
        if ours["tokens"] != hf["tokens"]:
            print("warning: token counts differ on %s: %d vs %d" % (name, ours["tokens"],
                                                                     hf["tokens"]))
        rows.append((name, len(lines), ours, hf))
    table = ["| input | texts | tokens | sinter tok/s | sinter MB/s | HF tok/s | HF MB/s | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, n, ours, hf in rows:
        table.append("| %s | %d | %d | %.0f | %.2f | %.0f | %.2f | %.2fx |" % (
            name, n, ours["tokens"], ours["tokens_per_s"], ours["mb_per_s"], hf["tokens_per_s"],
            hf["mb_per_s"], ours["tokens_per_s"] / hf["tokens_per_s"]))
    print("\n".join(table))
    print("\nsinter build: " + cmd)
    if "--write" in sys.argv:
        import tokenizers
        md = os.path.join(ROOT, "bench", "TOKENIZER.md")
        with open(md, "w") as fh:
            fh.write("# Tokenizer throughput: sinter vs Hugging Face tokenizers\n\n")
            fh.write("Single thread, MiniLM (BERT uncased WordPiece) tokenizer, truncation and "
                     "padding off, batches of %d, best of %d passes. HF: tokenizers %s "
                     "`encode_batch` with RAYON_NUM_THREADS=1. Measured with:\n\n"
                     "    python3 bench/bench_tokenize.py --write\n\n" % (
                         BATCH, ROUNDS, tokenizers.__version__))
            fh.write("\n".join(table) + "\n\n")
            fh.write("Machine: %s, %d cores. sinter built with `gcc -O2 -march=native`.\n"
                     % (os.uname().machine, os.cpu_count()))
            fh.write("\n`corpus` is tests/fixtures/tokenizer/corpus.jsonl (multilingual, "
                     "adversarial); `english` is 20,000 generated English sentences.\n")


if __name__ == "__main__":
    main()
