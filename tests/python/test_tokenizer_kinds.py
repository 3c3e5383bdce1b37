"""sinter.Model.tokenize and .decode for every tokenizer kind (WordPiece,
byte-level BPE, the Qwen split, Unigram with a charsmap), against the
`tokenizers` library run here on the same tokenizer.json: ids, type ids,
character offsets and the special-token mask, single texts and pairs."""
import json
import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer

import sinter

ROOT = Path(__file__).resolve().parents[2]
from conftest import MODELS  # noqa: E402

TOK = ROOT / "tests" / "fixtures" / "tokenizer"
KINDS = ["mpnet", "roberta", "qwen", "xlmr", "deberta_v3", "camembert", "spm_options"]


def corpus(step):
    lines = [bytes.fromhex(json.loads(x)["hex"]) for x in (TOK / "corpus.jsonl").open()]
    texts = []
    for i, raw in enumerate(lines):
        if i % step and i < 5200:
            continue  # every hand-written and hard line, and a sample of the rest
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # a Python str with NUL is fine, a C string is not
            texts.append(text)
    return texts


@pytest.mark.parametrize("kind", KINDS)
def test_tokenize_and_decode_equal_tokenizers(tmp_path, kind):
    folder = tmp_path / kind
    shutil.copytree(MODELS / "bert_cls", folder)
    for f in (TOK / kind).iterdir():
        shutil.copy(f, folder / f.name)
    hf = Tokenizer.from_file(str(folder / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    model = sinter.Model(folder, cache=tmp_path / "cache")
    texts = corpus(16)
    pairs = [(texts[i], texts[(i * 7 + 3) % len(texts)]) for i in range(0, len(texts), 3)]
    checked = 0
    for a, b in [(t, None) for t in texts] + pairs:
        want = hf.encode(a, b) if b is not None else hf.encode(a)
        if len(want.ids) > 64:  # bert_cls's positions
            continue
        got = model.tokenize([(a, b)] if b is not None else a)
        got = got[0] if b is not None else got
        assert got["input_ids"] == want.ids, (a, b)
        assert got["token_type_ids"] == want.type_ids, (a, b)
        assert [tuple(o) for o in got["offsets"]] == want.offsets, (a, b)
        assert got["special_tokens_mask"] == want.special_tokens_mask, (a, b)
        assert model.decode(want.ids) == hf.decode(want.ids), (a, b)
        assert model.decode(want.ids, skip_special_tokens=False) == hf.decode(
            want.ids, skip_special_tokens=False), (a, b)
        checked += 1
    assert checked > 150, checked
