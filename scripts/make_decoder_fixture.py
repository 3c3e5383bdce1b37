#!/usr/bin/env python3
"""make_decoder_fixture.py — golden outputs of the Hugging Face `tokenizers`
decoders for tests/unit/test_decoder.c (developer-run, never in CI).

Run with the repository's virtual environment, which has tokenizers 0.23.3:

    .venv/bin/python scripts/make_decoder_fixture.py

Writes tests/fixtures/tokenizer/decoder_cases.json:

  {"tokenizers": "0.23.3",
   "token_lists": [[token, ...], ...],
   "decoders": [{"name": ..., "decoder": <the tokenizer.json "decoder" value>,
                 "cases": [{"tokens": <index into token_lists>,
                            "expected": <decoded text>}, ...]}, ...],
   "refused": [{"name": ..., "decoder": <a value the Rust library refuses>}]}

Every decoder runs every hand-made list plus random lists of its own (all of
them in token_lists, shared to keep the file small).

Each decoder is built with tokenizers.decoders.* (or written as raw JSON for
the legacy and edge forms), serialized through a Tokenizer, loaded back with
Tokenizer.from_str, and its `decode(tokens)` recorded: the same JSON the C
side loads is the one whose outputs are recorded. The "none" entry has a null
decoder: a WordLevel tokenizer without one decodes ids (tokens joined " ").

A string that holds NUL (a "<0x00>" byte token's output) is written as
{"hex": "..."}, since cJSON cannot return NUL inside a string; others are
plain JSON strings.

Strip in 0.23 panics where its trailing cut runs past the leading one (e.g.
stop > 0 on a token of fewer content chars than stop, "" included). Those cases
are kept with "panics": true and "expected" computed by the later Rust fix
(`self.stop.min(chars.len() - start_cut)`), which is what the C code does.
"""

import json
import os
import random
import sys

import tokenizers
from tokenizers import Tokenizer, decoders, models

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "tokenizer", "decoder_cases.json")

BASE = json.loads(Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]")).to_str())


def with_decoder(dec_json):
    """A Tokenizer whose decoder is dec_json (raises when Rust refuses it)."""
    j = dict(BASE)
    j["decoder"] = dec_json
    return Tokenizer.from_str(json.dumps(j))


def to_json(dec):
    """The tokenizer.json value of a tokenizers.decoders object."""
    t = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    t.decoder = dec
    return json.loads(t.to_str())["decoder"]


def enc(s):
    return {"hex": s.encode("utf-8").hex()} if "\x00" in s else s


def strip_fixed(content, start, stop, token):
    """Strip with the later Rust bound on the trailing loop (no panic)."""
    chars = list(token)
    start_cut = 0
    for i, c in enumerate(chars[:start]):
        if c == content:
            start_cut = i + 1
        else:
            break
    stop_cut = len(chars)
    for i in range(min(stop, len(chars) - start_cut)):
        index = len(chars) - i - 1
        if chars[index] == content:
            stop_cut = index
        else:
            break
    return "".join(chars[start_cut:stop_cut])


def quiet_decode(dec, tokens):
    """dec.decode(tokens) with the Rust panic message kept off stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        return dec.decode(tokens), False
    except BaseException as e:  # pyo3's PanicException derives BaseException
        if type(e).__name__ != "PanicException":
            raise
        return None, True
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# --------------------------------------------------------------- decoders

def llama():
    return decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                              decoders.Fuse(), decoders.Strip(" ", 1, 0)])


BUILT = [
    ("wordpiece", decoders.WordPiece("##", True)),
    ("wordpiece_nocleanup", decoders.WordPiece("##", False)),
    ("wordpiece_empty_prefix", decoders.WordPiece("", True)),
    ("wordpiece_long_prefix", decoders.WordPiece("@@cont@@", False)),
    ("bytelevel", decoders.ByteLevel()),
    ("metaspace_always", decoders.Metaspace("▁", "always", True)),
    ("metaspace_first", decoders.Metaspace("▁", "first", True)),
    ("metaspace_never", decoders.Metaspace("▁", "never", True)),
    ("metaspace_ascii_nosplit", decoders.Metaspace("_", "always", False)),
    ("metaspace_emoji", decoders.Metaspace("😀", "first", True)),
    ("bytefallback", decoders.ByteFallback()),
    ("fuse", decoders.Fuse()),
    ("strip_llama", decoders.Strip(" ", 1, 0)),
    ("strip_2_3", decoders.Strip(" ", 2, 3)),
    ("strip_meta_1_1", decoders.Strip("▁", 1, 1)),
    ("replace_meta", decoders.Replace("▁", " ")),
    ("replace_empty", decoders.Replace("", "X")),
    ("replace_overlap", decoders.Replace("aa", "b")),
    ("replace_long", decoders.Replace("abcabcabd", "<9>")),
    ("replace_grow", decoders.Replace("a", "aaa")),
    ("bpe", decoders.BPEDecoder("</w>")),
    ("bpe_empty_suffix", decoders.BPEDecoder("")),
    ("ctc", decoders.CTC()),
    ("ctc_nocleanup", decoders.CTC("<pad>", "|", False)),
    ("ctc_empty", decoders.CTC("", "", True)),
    ("ctc_long", decoders.CTC("<long-pad-token>", "<word-delimiter>", True)),
    ("llama", llama()),
    ("gemma", decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                 decoders.Fuse()])),
    ("mistral_legacy", decoders.Sequence([decoders.ByteFallback(),
                                          decoders.Metaspace("▁", "always", True)])),
    ("nested", decoders.Sequence([
        decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback()]),
        decoders.Sequence([decoders.Sequence([decoders.Fuse()]), decoders.Strip(" ", 1, 0)]),
        decoders.WordPiece("##", True)])),
    ("bytelevel_then_wordpiece", decoders.Sequence([decoders.ByteLevel(),
                                                    decoders.WordPiece("##", True)])),
    ("fuse_then_bpe", decoders.Sequence([decoders.Fuse(), decoders.BPEDecoder("</w>")])),
    ("bytefallback_then_metaspace_first", decoders.Sequence([
        decoders.ByteFallback(), decoders.Metaspace("▁", "first", True)])),
    # ByteLevel and Fuse yield one string even for no tokens; CTC with an
    # empty delimiter turns "" into " " where no string stays "".
    ("bytelevel_then_ctc_empty", decoders.Sequence([decoders.ByteLevel(),
                                                    decoders.CTC("", "", True)])),
    ("fuse_then_ctc_empty", decoders.Sequence([decoders.Fuse(), decoders.CTC("", "", True)])),
    ("empty_sequence", decoders.Sequence([])),
]

# Forms written by hand: older files and fields the serializer never writes.
RAW = [
    ("metaspace_legacy_true", {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}),
    ("metaspace_legacy_false_never", {"type": "Metaspace", "replacement": "▁",
                                      "add_prefix_space": False, "prepend_scheme": "never"}),
    ("metaspace_legacy_true_first", {"type": "Metaspace", "replacement": "▁",
                                     "add_prefix_space": True, "prepend_scheme": "first",
                                     "str_rep": "▁", "split": None}),
    ("bytelevel_no_use_regex", {"type": "ByteLevel", "add_prefix_space": False,
                                "trim_offsets": True}),
    ("strip_extra_field", {"type": "Strip", "content": " ", "start": 1, "stop": 0, "x": None}),
    ("replace_string_nul_free", {"type": "Replace", "pattern": {"String": "▁▁"}, "content": "_"}),
]

# Values the Rust library refuses to load (the C side must refuse them too).
REFUSED = [
    ("no_type", {}),
    ("not_object", []),
    ("type_number", {"type": 1}),
    ("wordpiece_no_cleanup", {"type": "WordPiece", "prefix": "##"}),
    ("wordpiece_null_prefix", {"type": "WordPiece", "prefix": None, "cleanup": True}),
    ("bytelevel_no_trim", {"type": "ByteLevel", "add_prefix_space": True}),
    ("bytelevel_null_use_regex", {"type": "ByteLevel", "add_prefix_space": True,
                                  "trim_offsets": True, "use_regex": None}),
    ("metaspace_no_replacement", {"type": "Metaspace"}),
    ("metaspace_two_chars", {"type": "Metaspace", "replacement": "e\u0301"}),
    ("metaspace_empty_replacement", {"type": "Metaspace", "replacement": ""}),
    ("metaspace_bad_scheme", {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "First"}),
    ("metaspace_null_scheme", {"type": "Metaspace", "replacement": "▁", "prepend_scheme": None}),
    ("metaspace_false_always", {"type": "Metaspace", "replacement": "▁",
                                "add_prefix_space": False}),
    ("metaspace_false_first", {"type": "Metaspace", "replacement": "▁",
                               "add_prefix_space": False, "prepend_scheme": "first"}),
    ("metaspace_split_number", {"type": "Metaspace", "replacement": "▁", "split": 1}),
    ("metaspace_str_rep_number", {"type": "Metaspace", "replacement": "▁", "str_rep": 1}),
    ("strip_no_stop", {"type": "Strip", "content": " ", "start": 1}),
    ("strip_two_chars", {"type": "Strip", "content": "  ", "start": 1, "stop": 0}),
    ("strip_negative", {"type": "Strip", "content": " ", "start": -1, "stop": 0}),
    ("strip_fraction", {"type": "Strip", "content": " ", "start": 1.5, "stop": 0}),
    ("strip_null_content", {"type": "Strip", "content": None, "start": 1, "stop": 0}),
    ("replace_no_content", {"type": "Replace", "pattern": {"String": "▁"}}),
    ("replace_bare_pattern", {"type": "Replace", "pattern": "▁", "content": " "}),
    ("replace_two_patterns", {"type": "Replace", "pattern": {"String": "a", "Regex": "b"},
                              "content": " "}),
    ("replace_null_string", {"type": "Replace", "pattern": {"String": None}, "content": ""}),
    ("bpe_no_suffix", {"type": "BPEDecoder"}),
    ("bpe_null_suffix", {"type": "BPEDecoder", "suffix": None}),
    ("ctc_no_cleanup", {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|"}),
    ("sequence_no_decoders", {"type": "Sequence"}),
    ("sequence_object", {"type": "Sequence", "decoders": {}}),
    ("sequence_null_item", {"type": "Sequence", "decoders": [None]}),
    ("sequence_bad_item", {"type": "Sequence", "decoders": [{"type": "Fuse"},
                                                            {"type": "Strip", "content": 1,
                                                             "start": 0, "stop": 0}]}),
    ("unknown", {"type": "Nope"}),
    ("sequence_unknown", {"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Nope"}]}),
]

# --------------------------------------------------------------- token lists

HAND = [
    [], [""], ["", ""], ["▁"], ["▁", "▁"], ["▁▁a▁▁"], ["▁Hello", "▁world", "!"],
    ["Hello", "▁", "▁world"], ["a▁b", "c▁"], ["<s>", "▁Hi", "</s>"],
    ["<0xE2>", "<0x82>", "<0xAC>"], ["<0xe2>", "<0x82>", "<0xac>"], ["<0xE2>", "<0x82>"],
    ["▁a", "<0xE2>", "<0x82>", "▁b"], ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"],
    ["<0xF0>", "<0x9F>", "x", "<0x98>", "<0x80>"], ["<0x+A>"], ["<0x+a>", "<0x++>"], ["<0x-A>"],
    ["<0x00>"], ["a", "<0x00>", "b"], ["<0xC3>", "<0xA9>", "<0xC3>"], ["<0xED>", "<0xA0>", "<0x80>"],
    ["<0xC0>", "<0x80>"], ["<0xF4>", "<0x90>", "<0x80>", "<0x80>"], ["<0X41>"], ["<0x41>x"],
    ["<0x4>"], ["<0x41>", "<0x42>", "▁<0x43>"], ["<0x20>", "▁", "<0x20>"],
    ["hello", "##world", "##!", " .", "do", "not"],
    ["I", "do", "not", "'", "m", "n't", ",", ".", "?", "!", "'", "s", "'", "ve", "'", "re"],
    ["##a", "b", "##", "###c"], ["a", " ' ", "b", "do not", " do not"],
    ["Ġhello", "Ġworld", "Ċ"], ["Ã©"], ["Ã", "©"], ["Ã"], ["ä¸Ń", "æĸĩ"], ["中文", "Ġ"],
    ["Ġ", "中", "Ġ"], ["a</w>", "b</w>", "c"], ["</w>"], ["a</w>b</w>", "c</w>"],
    ["<pad>", "h", "h", "<pad>", "e", "|", "|", "l", "l", "<pad>", "l", "o"],
    ["a", "a", "<pad>", "a", "|", "b", "b"], ["<pad>"], ["|"], ["x .", "x .", "y"],
    ["  a  ", " ", "  "], ["   "], ["a ", " b"], ["▁▁", "▁"], ["▁a▁"],
    ["abcabcabcabd", "abcabd", "abcabcabd"], ["aaaa", "aaa", "a"], ["é", "😀", "e\u0301"],
    ["😀😀", "😀"], ["_a_", "__"], ["<long-pad-token>ab<word-delimiter>cd", "<word-delimiter>"],
    ["@@cont@@x", "@@cont@x", "y"],
]

PIECES = ["▁", "▁the", "▁a", "<0xE2>", "<0x82>", "<0xAC>", "<0xC3>", "<0xA9>", "<0x41>",
          "<0x+A>", "<0xff>", "<0x00>", "##", "##ing", " .", " ,", "n't", " 's", "'", " ",
          "  ", "</w>", "Ġ", "Ċ", "Ã", "©", "é", "中", "😀", "a", "b", "aa", "", "|", "<pad>",
          "do not", "abcabcabd", "abc", "@@cont@@", "_", "x"]


def random_tokens(rng):
    n = rng.choice([0, 1, 2, 3, 5, 8, 12])
    out = []
    for _ in range(n):
        k = rng.choice([1, 1, 1, 2, 3])
        out.append("".join(rng.choice(PIECES) for _ in range(k)))
    return out


def random_bytelevel(rng):
    """Tokens of GPT-2 byte chars from random bytes (often invalid UTF-8)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, map(chr, cs)))
    text = rng.choice(["héllo wörld 中文 😀", "a\u00e9\u4e2d", "plain ascii", "\x00\x7f\u0080"])
    data = bytearray(text.encode("utf-8"))
    if rng.random() < 0.5 and data:
        data[rng.randrange(len(data))] = rng.randrange(256)
    toks, i = [], 0
    while i < len(data):
        k = rng.randint(1, 3)
        toks.append("".join(table[b] for b in data[i:i + k]))
        i += k
    return toks


def main():
    rng = random.Random(20240523)
    entries = []
    token_lists = []
    index = {}

    def list_id(toks):
        key = json.dumps(toks)
        if key not in index:
            index[key] = len(token_lists)
            token_lists.append([enc(t) for t in toks])
        return index[key]

    specs = [(name, to_json(dec)) for name, dec in BUILT] + RAW
    total = panics = 0
    for name, dj in specs:
        tok = with_decoder(dj)  # raises if Rust refuses it: a bug in this script
        dec = tok.decoder
        lists = [list(h) for h in HAND]
        lists += [random_tokens(rng) for _ in range(10)]
        if "bytelevel" in name:
            lists += [random_bytelevel(rng) for _ in range(10)]
        cases = []
        for toks in lists:
            out, panicked = quiet_decode(dec, toks)
            case = {"tokens": list_id(toks)}
            if panicked:
                assert dj["type"] == "Strip", (name, toks)
                case["panics"] = True
                out = "".join(strip_fixed(dj["content"], dj["start"], dj["stop"], t) for t in toks)
                panics += 1
            case["expected"] = enc(out)
            cases.append(case)
        total += len(cases)
        entries.append({"name": name, "decoder": dj, "cases": cases})

    # No decoder: the tokens joined with " " (Tokenizer::decode without one).
    cases = []
    for toks in [list(h) for h in HAND[:30]] + [random_tokens(rng) for _ in range(10)]:
        vocab = {}
        for t in toks:
            vocab.setdefault(t, len(vocab))
        vocab.setdefault("[UNK]", len(vocab))
        t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        assert t.decoder is None
        out = t.decode([vocab[x] for x in toks], skip_special_tokens=False)
        cases.append({"tokens": list_id(toks), "expected": enc(out)})
    total += len(cases)
    entries.append({"name": "none", "decoder": None, "cases": cases})

    refused = []
    for name, dj in REFUSED:
        try:
            with_decoder(dj)
        except Exception:
            refused.append({"name": name, "decoder": dj})
            continue
        raise SystemExit(f"{name}: the Rust library accepts {dj!r}")

    doc = {"tokenizers": tokenizers.__version__, "token_lists": token_lists,
           "decoders": entries, "refused": refused}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(f"{OUT}: {len(entries)} decoders, {len(token_lists)} token lists, "
          f"{total} cases ({panics} Strip panics), "
          f"{len(refused)} refused, {len(text.encode())} bytes")


if __name__ == "__main__":
    main()
