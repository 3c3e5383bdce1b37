"""Shared helpers for the end-to-end tests: they run the built `sinter` CLI
(build/sinter, made by scripts/setup.sh) on the committed fixtures and on the
default model fetched into .cache/models."""
import json
import math
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SINTER = Path(os.environ.get("SINTER_BIN", ROOT / "build" / "sinter"))
# The ASan+UBSan build, when scripts/test.sh made it: bad-input tests run both.
SINTER_ASAN = ROOT / "build-asan" / "sinter"
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = FIXTURES / "models"
GOLDEN = FIXTURES / "golden"
DEFAULT_MODEL = ROOT / ".cache" / "models" / "all-MiniLM-L6-v2"


def run(*args, stdin=None, check=None, timeout=300, binary=None):
    """Runs sinter with args; returns the CompletedProcess (text mode).
    check=N asserts the exit code is N."""
    proc = subprocess.run([str(binary or SINTER), *map(str, args)], input=stdin,
                          capture_output=True, text=True, timeout=timeout)
    if check is not None:
        assert proc.returncode == check, (
            f"exit {proc.returncode}, want {check}\nstdout: {proc.stdout[-2000:]}\n"
            f"stderr: {proc.stderr[-2000:]}")
    return proc


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def golden(name):
    return json.loads((GOLDEN / f"{name}.json").read_text())


def ids_arg(ids, types=None):
    """The --ids form of one input: "IDS" or "IDS | TYPE_IDS"."""
    text = " ".join(str(i) for i in ids)
    return text + " | " + " ".join(str(t) for t in types) if types else text


def case_args(case):
    """--ids arguments for every sequence of a golden case (with token types)."""
    types = case.get("token_type_ids") or [None] * len(case["input_ids"])
    return [ids_arg(i, t) for i, t in zip(case["input_ids"], types)]


def max_abs_diff(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return max(abs(x - y) for x, y in zip(a, b))


def sanitized(binary):
    """1 when `binary` was built with AddressSanitizer (it calls __asan_init)."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def binaries():
    """The release binary, plus the sanitizer build when it exists."""
    return [SINTER] + ([SINTER_ASAN] if SINTER_ASAN.exists() else [])


def classifier_with_tokenizer(tmp_path):
    """bert_cls (128-token vocabulary) with a vocab.txt of its size."""
    folder = tmp_path / "cls_tok"
    shutil.copytree(MODELS / "bert_cls", folder)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz")
    words += ["the", "a", "is", "good", "bad", "movie", "great", "terrible", "i", "it", "was",
              "not", "very", "and", "this", "film", "love", "hate", "fine", "ok"]
    words += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    words += [f"w{i}" for i in range(128 - len(words))]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": true}')
    return folder


def cli_logits(folder, text, pair=None):
    """classify --ids on what `sinter tokenize` makes of text (and pair), type ids
    included: the reference for the paths that tokenize pairs themselves."""
    args = ["tokenize", "--model", folder] + (["--pair", text, pair] if pair else [text])
    enc = json_lines(run(*args, check=0).stdout)[0]
    ids = " ".join(map(str, enc["ids"])) + " | " + " ".join(map(str, enc["type_ids"]))
    return json_lines(run("classify", "--model", folder, "--ids", ids, check=0).stdout)[0]


def one_logit_cross_encoder(tmp_path):
    """The classifier fixture cut to one logit (its first label's row): a
    cross-encoder as rerankers are."""
    folder = classifier_with_tokenizer(tmp_path)
    path = folder / "model.safetensors"
    data = path.read_bytes()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors, out = {}, b""
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        raw = body[begin:end]
        if name.endswith("classifier.weight"):
            raw, t["shape"] = raw[:t["shape"][1] * 4], [1, t["shape"][1]]
        elif name.endswith("classifier.bias"):
            raw, t["shape"] = raw[:4], [1]
        t["data_offsets"] = [len(out), len(out) + len(raw)]
        out += raw
        tensors[name] = t
    head = json.dumps(tensors).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + out)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"], config["label2id"] = {"0": "LABEL_0"}, {"LABEL_0": 0}
    config.pop("num_labels", None)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def cli_embeddings(texts, *flags):
    """The default model's embeddings of texts by `sinter embed`."""
    return [r["embedding"] for r in json_lines(run("embed", "--model", DEFAULT_MODEL, *flags,
                                                   *texts, check=0).stdout)]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A three-label classifier and a one-logit cross-encoder, with tokenizers."""
    root = tmp_path_factory.mktemp("models")
    return {"cls": classifier_with_tokenizer(root / "cls"),
            "ce": one_logit_cross_encoder(root / "ce")}


@pytest.fixture(scope="module")
def three_models(tmp_path_factory, folders):
    """One server per test module: minilm (an encoder, the default), cls (three
    labels), ce (one logit)."""
    from serve_helpers import Server
    s = Server(tmp_path_factory.mktemp("three"),
               [f"minilm={DEFAULT_MODEL}", f"cls={folders['cls']}", f"ce={folders['ce']}"])
    yield s
    assert s.stop() == 0


@pytest.fixture
def model_copy(tmp_path):
    """Returns a function copying a fixture model into tmp_path for corruption."""
    def copy(name):
        dest = tmp_path / name
        shutil.copytree(MODELS / name, dest)
        return dest
    return copy


@pytest.fixture(scope="session", autouse=True)
def built_binary():
    assert SINTER.exists(), f"{SINTER} is missing: run scripts/setup.sh first"


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Compiled runs go through the compile cache: keep the suite's entries
    out of the user's ~/.cache."""
    os.environ["SINTER_CACHE_DIR"] = str(tmp_path_factory.mktemp("sinter-cache"))
    os.environ.pop("SINTER_CACHE_URL", None)
    yield
