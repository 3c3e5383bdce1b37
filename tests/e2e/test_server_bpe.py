"""Every tokenizer kind through the server: /tokenize and /decode on a model
folder with a RoBERTa-style (byte-level BPE), Qwen-style (Split regex + byte
level), XLM-R, DeBERTa-v3 or CamemBERT (Precompiled + Metaspace + Unigram)
tokenizer.json give Hugging Face's ids and decoded text (the references
scripts/make_tokenizer_fixtures.py recorded)."""
import json
import shutil

import pytest

from conftest import MODELS, ROOT
from serve_helpers import Server

TOK = ROOT / "tests" / "fixtures" / "tokenizer"


def references(setting, limit):
    corpus = [json.loads(line) for line in (TOK / "corpus.jsonl").open()]
    out = []
    for line in (TOK / f"expected_{setting}.jsonl").open():
        want = json.loads(line)
        if "b" in want:
            continue  # a pair: /tokenize takes single texts
        try:
            text = bytes.fromhex(corpus[want["a"]]["hex"]).decode("utf-8")
        except UnicodeDecodeError:
            continue  # a JSON request carries valid UTF-8 only
        if len(want["ids"]) <= limit and "\u0000" not in text:
            out.append((text, want))
    return out


@pytest.mark.parametrize("kind", ["roberta", "qwen", "xlmr", "deberta_v3", "camembert"])
def test_tokenize_and_decode_match_hugging_face(tmp_path, kind):
    folder = tmp_path / f"{kind}_tok"
    shutil.copytree(MODELS / "bert_cls", folder)
    for f in (TOK / kind).iterdir():
        shutil.copy(f, folder / f.name)
    s = Server(tmp_path, folder)
    try:
        limit = s.get("/info")[1]["max_input_length"]
        cases = references(kind, limit)
        assert len(cases) > 100
        texts = [t for t, _ in cases]
        status, got, _ = s.post("/tokenize", {"inputs": texts})
        assert status == 200 and len(got) == len(cases)
        bad = [t for (t, want), toks in zip(cases, got) if [x["id"] for x in toks] != want["ids"]]
        assert not bad, f"{len(bad)} of {len(cases)} differ, e.g. {bad[:3]!r}"
        status, decoded, _ = s.post("/decode", {"ids": [w["ids"] for _, w in cases]})
        assert status == 200
        bad = [w["decoded"] for (_, w), d in zip(cases, decoded) if d != w["decoded"]]
        assert not bad, f"{len(bad)} of {len(cases)} decode differently, e.g. {bad[:3]!r}"
        print(f"\n/tokenize and /decode: {len(cases)} corpus texts identical to tokenizers")
    finally:
        assert s.stop() == 0
