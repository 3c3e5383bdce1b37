#!/usr/bin/env python3
"""make_precompiled_fixture.py — golden outputs of the Hugging Face `tokenizers`
Precompiled normalizer (SentencePiece's compiled charsmap) for
tests/unit/test_precompiled.c (developer-run, never in CI).

Needs an interpreter with tokenizers==0.23.3 and sentencepiece==0.2.3 (with
protobuf), e.g. the repository's .venv:

    .venv/bin/python scripts/make_precompiled_fixture.py [--cf] [--json PATH]...
        [--random N] [--out FILE] [--probe-graphemes]

It takes SentencePiece's built-in nmt_nfkc charsmap (the one XLM-R, DeBERTa-v3
and CamemBERT-style models carry; read from the ModelProto of a tiny model
trained with normalization_rule_name="nmt_nfkc"), runs the Rust normalizer
through a Tokenizer whose pre-tokenizer isolates every normalized character
(Split("[\\s\\S]", isolated)) and whose WordLevel model maps all to [UNK], so
that the encoding's offsets are each normalized character's alignment, and
writes tests/fixtures/tokenizer/precompiled_cases.json:

  {"tokenizers": ..., "sentencepiece": ..., "block": 4096,
   "charsmaps": [{"name": "nmt_nfkc", "charsmap": "<base64>",
                  "cases": [{"text": hex UTF-8, "normalized": hex UTF-8,
                             "offsets": [s0, e0, s1, e1, ...]}],   # bytes
                  "digests": {"single": [...], "after": [...],
                              "before": [...], "mark": [...]}}]}

Texts are hex because they contain NUL. The digests are exhaustive checks:
for every Unicode scalar value c, in order, the text PREFIX + c + SUFFIX
(single: c; after: "A\\u0300" c; before: c "A\\u0300"; mark: c "\\u0301") is
normalized and FNV-1a 64 runs over the normalized UTF-8, a 0xFF byte, each
offset as u32 little-endian, and a 0xFE byte; one digest (16 hex digits) per
block of 4096 code points (surrogates skipped). "after" and "before" pin the
grapheme-cluster classes of every code point (utf8proc's Unicode 15.0 against
the Rust crate's newer tables), "mark" the clusters a character starts.

--cf adds SentencePiece's nmt_nfkc_cf charsmap and --json PATH the
Precompiled charsmap(s) found in a tokenizer.json; both are local checks
(each charsmap is ~320 kB of base64) — write them elsewhere with --out FILE
and point the test at it: SN_PRECOMPILED_FIXTURE=FILE build/test_precompiled.

--random N records N random texts per charsmap instead of 400 (a local
check, with --out).

--probe-graphemes prints the code points whose grapheme class in the Rust
library differs from utf8proc's (libutf8proc.so.2 through ctypes), the table
gcb_overrides[] of src/tokenizer/precompiled.c, and exits.
"""
import base64
import ctypes
import io
import json
import os
import random
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "precompiled_cases.json")
PINS = {"tokenizers": "0.23.3", "sentencepiece": "0.2.3"}
BLOCK = 4096
SETS = {"single": ("", ""), "after": ("A\u0300", ""), "before": ("", "A\u0300"),
        "mark": ("", "\u0301")}


def check_pins():
    from importlib.metadata import version
    bad = [f"{p}=={v} (have {version(p)})" for p, v in PINS.items() if version(p) != v]
    if bad:
        sys.exit("make_precompiled_fixture.py needs " + ", ".join(bad))


check_pins()

import sentencepiece as spm  # noqa: E402
from sentencepiece import sentencepiece_model_pb2 as spm_pb2  # noqa: E402
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers  # noqa: E402


def builtin_charsmap(rule):
    """The precompiled_charsmap sentencepiece stores for a built-in rule."""
    lines = ["hello world this is a tiny corpus %d abc def" % i for i in range(200)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=40,
                                   normalization_rule_name=rule, model_type="unigram",
                                   hard_vocab_limit=False, minloglevel=3)
    proto = spm_pb2.ModelProto()
    proto.ParseFromString(buf.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def json_charsmaps(path):
    """Every Precompiled charsmap of a tokenizer.json (inside Sequences too)."""
    with open(path, encoding="utf-8") as fh:
        tj = json.load(fh)
    found = []

    def walk(n):
        if isinstance(n, dict):
            if n.get("type") == "Precompiled":
                found.append(base64.b64decode(n["precompiled_charsmap"]))
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)
    walk(tj.get("normalizer"))
    return found


def trie_keys(blob):
    """All keys of the darts-clone trie -> replacement bytes (an independent
    reading of the format, used to build texts that hit multi-char keys)."""
    n = struct.unpack_from("<I", blob)[0] // 4
    units = struct.unpack_from("<%dI" % n, blob, 4)
    strings = blob[4 + 4 * n:]

    def offset(u):
        return (u >> 10) << ((u & (1 << 9)) >> 6)
    keys = {}
    stack = [(offset(units[0]), b"")]
    while stack:
        pos, prefix = stack.pop()
        for c in range(1, 256):
            p = pos ^ c
            if p >= n or units[p] & 0x800000FF != c:
                continue
            nxt = p ^ offset(units[p])
            key = prefix + bytes([c])
            if (units[p] >> 8) & 1 and nxt < n:
                v = units[nxt] & 0x7FFFFFFF
                e = strings.find(b"\0", v)
                keys[key] = strings[v:e if e >= 0 else len(strings)]
            stack.append((nxt, key))
    return keys


def build_charsmap(mapping):
    """A charsmap blob for {key: replacement} (str -> str), laid out as a
    darts-clone double array: a node's children sit at base ^ label, the
    unit there holds the label, the has-leaf bit and the offset to the
    child's own base, where (label 0) the leaf unit holds the value."""
    strings = bytearray()
    values = {}
    for k, v in mapping.items():
        values[k.encode()] = len(strings)
        strings += v.encode() + b"\0"
    trie = {}
    for k in values:
        node = trie
        for b in k:
            node = node.setdefault(b, {})
        node[None] = values[k]
    units = {}
    used = {0}

    def place(node):
        labels = [b for b in node if b is not None]
        base = 1
        while True:
            slots = [base ^ b for b in labels] + ([base] if None in node else [])
            if base not in used and not any(p in used for p in slots):
                break
            base += 1
        used.add(base)
        used.update(slots)
        if None in node:
            units[base] = 0x80000000 | node[None]
        for b in labels:
            child = place(node[b])
            leaf = (1 << 8) if None in node[b] else 0
            off = (base ^ b) ^ child
            assert off < (1 << 21)
            units[base ^ b] = b | leaf | (off << 10)
        return base
    root = place(trie)
    units[0] = root << 10
    # Whole blocks of 256 units, as darts-clone allocates: base ^ label then
    # stays inside the array for every byte (the Rust crate indexes blindly).
    n = (max(max(units), max(used)) // 256 + 1) * 256
    arr = [units.get(i, 0) for i in range(n)]
    return struct.pack("<I", 4 * n) + struct.pack("<%dI" % n, *arr) + bytes(strings)


# A hand-made map with the cases the built-in ones lack: the shortest key of
# several wins ("a" against "ab"), empty replacements (removals at the start,
# after an expansion, in a row), expansions, a key spanning two clusters
# ("AB": never matched), a value at the very end of the strings.
HAND_MAP = {
    "a": "x", "ab": "y", "a\u0300": "y", "\x01": "", "\x02": "", "c": "", "b": "bbb",
    "\ufb01": "fi", "\r": " ", "e\u0301": "\u00e9", "\u00e9": "e", "X": "X",
    "Z": "ZZZZZZZZ", "\u00a0": " ", "k\u0301\u0301": "K", "AB": "ab", "\u0301": "",
    "\U0001f600": "\U0001f601\U0001f602", "\u2122": "TM", "d\u0301": "",
}
HAND_ALPHABET = ["a", "b", "c", "d", "e", "k", "x", "A", "B", "X", "Z", "Q", " ", "\x01", "\x02",
                 "\r", "\n", "\r\n", "\u0300", "\u0301", "\ufb01", "\u00e9", "\u00a0",
                 "\U0001f600", "\u2122", "\u200d", "\x00", "\u0897"]


def make_tokenizer(blob):
    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Precompiled(blob)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("[\\s\\S]"), "isolated")
    return tok


def run(tok, texts):
    """[(normalized, byte offsets)] of the Rust normalizer for each text."""
    norm = tok.normalizer
    out = []
    encs = tok.encode_batch(texts, add_special_tokens=False)
    for t, enc in zip(texts, encs):
        n = norm.normalize_str(t)
        pos = [0]
        for ch in t:
            pos.append(pos[-1] + len(ch.encode("utf-8", "surrogatepass")))
        offs = []
        for s, e in enc.offsets:
            offs += [pos[s], pos[e]]
        assert len(enc.offsets) == len(n), (t, n, enc.offsets)
        out.append((n, offs))
    return out


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def scalars(block):
    lo = block * BLOCK
    return [c for c in range(lo, lo + BLOCK) if not 0xD800 <= c < 0xE000]


def digests(tok):
    res = {}
    for name, (pre, suf) in SETS.items():
        out = []
        for block in range(0x110000 // BLOCK):
            texts = [pre + chr(c) + suf for c in scalars(block)]
            h = 0xCBF29CE484222325
            for n, offs in run(tok, texts):
                h = fnv(h, n.encode())
                h = fnv(h, b"\xff")
                h = fnv(h, struct.pack("<%dI" % len(offs), *offs))
                h = fnv(h, b"\xfe")
            out.append("%016x" % h)
        res[name] = out
    return res


# Characters new in Unicode 16/17 that the Rust grapheme tables know.
NEW_MARKS = "\u0897\u1acf\u1ad5\u1aeb\U00010d69\U000113b8\U000113b9\U0001611e\U0001e5ee"

HAND = [
    "", "hello world", "Hello, World!", "ﬁ", "ﬁx ﬂow", "ﬃ", "Ａ１ｂ２", "ＡＢＣ！", "①②③⑳",
    "㍿", "㌀", "\u212b", "Å", "A\u030a", "\u1100\u1161\u11a8", "\u3131\u314f", "ᄀ", "한국어",
    "ㄱㅏ", "ｶﾞｷﾞ", "ｱｲｳ", "ﾊﾟ", "e\u0301", "A\u0300\u0301", "A\u0302\u0300", "A\u0302\u0301x",
    "a\u0300\u0301\u0302\u0303", "Ａ\u0301", "\u00a0\u0301", "\u00a0\u0300\u0301",
    "👨\u200d👩\u200d👧\u200d👦", "👍🏽", "🇯🇵🇫🇷", "🇯🇵🇫", "🏳️\u200d🌈", "❤️", "™\u0301", "©\u200d™",
    "©\u200d™\u0301", "‼\u0301", "\x00", "a\x00b", "\x00\u0301", "\x01\x02\x03", "\x1eg", "a\x1e",
    "™\x1eg", "™\x1e\x1fg", "\x1e\x1e", "x\x1e\x1e\x1ey", "ﬁ\x01", "\x7f", "\t\n\r", "a\r\nb", "\r\n",
    "\r\r\n\n", "\r\n\u0301", "\x85", "\u2028\u2029", "\u00a0", "a\u00a0b", "\u3000", "\u2002\u2003\u2009",
    "\u200b", "\u200c\u200d", "x\u200dy", "\ufeff", "\u2060", "  a  ", "a" + "\u0301" * 10,
    "Ａ\u0301\u0301", "e\u0301\u0302\u0303", "ᄀ\u1161\u11a8\u0301", "เขาไม่ได้พูดสักคำ", "กำ", "ำ",
    "ड़ी दुख", "क्षत्रिय", "क्\u200dष", "\u0627\u0653", "آپ", "ﷺ", "ﻻ", "سلام", "日本語の文章",
    "⽇", "㊀", "𝔾𝕠𝕠𝕘𝕝𝕖", "½", "x²", "ℌ", "…", "‼", "ǆ", "ﬀ", "Ⅻ", "㎏", "¨", "´", "ʰ", "\u0897",
    "\u00a0\u0897", "A\u0300\u1acf", "A\u0300\U000113b9", "\U000113d1A\u0300", "\U00011a3aA\u0300",
    "\u0600A\u0300", "\u0600\u00a0", "\ufffd", "\U0010ffff", "\ue000", "\ufdd0", "\u1100\u1100",
    "\u00a0\u200d", "ﬁ\u200d", "Ａ\u200dＡ", "\u0301", "\u0301\u0301A", "ß", "ẞ", "İstanbul",
    "ΣΑΣ", "Ⓜ️", "ℹ\u0301", "⁉", "\u3099", "か\u3099", "\uff9e", "\U0001f1e6" * 5,
    "\U0001f469\U0001f3fd\u200d\U0001f52c", "\u2126", "\u00b5", "\u03d0", "\u1e9b\u0323",
    "\u0958", "\u0915\u093c", "\u09cb", "\u0b48", "\u0f77", "\u0f73", "\u1b06", "\u2000\u2001",
    "\u00ad", "a\u00adb", "\u180e", "\u115f", "\u3164", "\uffa0",
]


def random_texts(rng, keys, count=400):
    multi = sorted(k.decode() for k in keys if len(k.decode()) > 1)
    single = sorted(k.decode() for k in keys if len(k.decode()) == 1)
    pools = [
        list("abcxyzABCXYZ019 .,!?-"),
        [chr(c) for c in range(0, 0x20)] + ["\x7f", "\x85", "\r\n"],
        single, multi, multi,
        [chr(c) for c in range(0x300, 0x370)] + ["\u0653", "\u093c", "\u094d", "\u0e48", "\u3099"],
        ["👍", "🏽", "\u200d", "\ufe0f", "👩", "🔬", "❤", "™", "©", "\U0001f1ef", "\U0001f1f5"],
        [chr(c) for c in range(0x1100, 0x1100 + 19)] + [chr(c) for c in range(0x1161, 0x1176)] +
        [chr(c) for c in range(0x11a8, 0x11c3)] + [chr(c) for c in range(0x3131, 0x318f)] + ["한"],
        list(NEW_MARKS) + ["\U000113d1", "\U00011a3a", "\u0600"],
        list("เขาไม่ได้พูดสักคำ") + list("क्षत्रियड़ी") + list("سلام\u0627\u0653"),
        ["\u00a0", "\u3000", "\u2009", "\u200b", "\ufeff", "\u2028", " ", "  "],
    ]
    out = []
    for _ in range(count):
        n = rng.randint(1, 12)
        out.append("".join(rng.choice(rng.choice(pools)) for _ in range(n)))
    return out


def probe_graphemes(blob):
    """Code points whose cluster behaviour in Rust differs from utf8proc's."""
    lib = ctypes.CDLL("libutf8proc.so.2")
    brk = lib.utf8proc_grapheme_break_stateful
    brk.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32)]

    def breaks(cps):
        st = ctypes.c_int32(0)
        return [bool(brk(a, b, ctypes.byref(st))) for a, b in zip(cps, cps[1:])]
    norm = normalizers.Precompiled(blob)
    base = "A\u0300"
    nb = norm.normalize_str(base)
    rows = []
    for c in range(0x80, 0x110000):
        if 0xD800 <= c < 0xE000:
            continue
        ch = chr(c)
        nc = norm.normalize_str(ch)
        out = norm.normalize_str(base + ch)
        if len(ch.encode()) <= 2:
            joined = None if nc == "" else out == nb
        else:
            joined = out.startswith(base)
        if joined is not None and joined == breaks([0x41, 0x300, c])[1]:
            # Extend or SpacingMark? GB11 lets only Extend sit between an
            # Extended_Pictographic and a ZWJ.
            ext = norm.normalize_str("\u00a9" + ch + "\u200d\u2122\u0301").endswith("TM\u0301")
            rows.append((c, "rust joins" if joined else "rust breaks",
                         "0x0300" if ext else "0x0903"))
        prepend = not norm.normalize_str(ch + base).endswith(nb)
        if prepend == breaks([c, 0x41, 0x300])[0]:
            rows.append((c, "rust Prepend" if prepend else "rust not Prepend",
                         "0x0600" if prepend else "0x0041"))
    for c, what, proxy in rows:
        print("U+%04X %s -> proxy %s" % (c, what, proxy))


def main():
    args = sys.argv[1:]
    out_path = OUT
    count = 400
    blobs = [("nmt_nfkc", builtin_charsmap("nmt_nfkc")), ("hand", build_charsmap(HAND_MAP))]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--cf":
            blobs.append(("nmt_nfkc_cf", builtin_charsmap("nmt_nfkc_cf")))
        elif a == "--json":
            i += 1
            for k, b in enumerate(json_charsmaps(args[i])):
                blobs.append(("%s#%d" % (args[i], k), b))
        elif a == "--out":
            i += 1
            out_path = args[i]
        elif a == "--random":
            i += 1
            count = int(args[i])
        elif a == "--probe-graphemes":
            probe_graphemes(blobs[0][1])
            return
        else:
            sys.exit("unknown argument " + a)
        i += 1
    from importlib.metadata import version
    doc = {"tokenizers": version("tokenizers"), "sentencepiece": version("sentencepiece"),
           "block": BLOCK, "charsmaps": []}
    for name, blob in blobs:
        t0 = time.time()
        tok = make_tokenizer(blob)
        keys = trie_keys(blob)
        rng = random.Random(20240611)
        if name == "hand":
            texts = [k for k in HAND_MAP] + [
                "".join(rng.choice(HAND_ALPHABET) for _ in range(rng.randint(1, 10)))
                for _ in range(300)]
        else:
            texts = HAND + random_texts(rng, keys, count)
        cases = []
        for t, (n, offs) in zip(texts, run(tok, texts)):
            cases.append({"text": t.encode().hex(), "normalized": n.encode().hex(),
                          "offsets": offs})
        entry = {"name": name, "charsmap": base64.b64encode(blob).decode(), "cases": cases,
                 "digests": {} if name == "hand" else digests(tok)}
        doc["charsmaps"].append(entry)
        print("%s: %d keys, %d cases, %.1f s" % (name, len(keys), len(cases), time.time() - t0))
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")
    print("wrote %s (%d bytes)" % (out_path, os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
