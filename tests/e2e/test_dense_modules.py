"""sentence-transformers Dense modules through the front ends, from text:
bert_dense_st (mean pooling of 32 features, Dense 32 -> 40 with bias and
Tanh, Dense 40 -> 24 without bias, Normalize) and bert_dense_nonorm_st (CLS,
Dense 16 -> 12 GELU, no Normalize), made by scripts/make_fixtures.py with
sentence-transformers, against SentenceTransformer.encode's recorded output:
the CLI, the server (TEI /embed and /info, OpenAI /v1/embeddings with
dimensions), an artifact opened without its folder, and the refusals."""
import json
import math
import shutil

import pytest

from conftest import MODELS, golden, json_lines, max_abs_diff, run
from serve_helpers import Server

TOLERANCE = 1e-4
NAMES = ["bert_dense_st", "bert_dense_nonorm_st"]


def texts_of(g):
    return [c["text"] for c in g["cases"]]


def check_rows(rows, g):
    assert len(rows) == len(g["cases"])
    worst = 0.0
    for row, case in zip(rows, g["cases"]):
        assert len(row) == g["embedding_dim"]
        worst = max(worst, max_abs_diff(row, case["embedding"]))
    assert worst < TOLERANCE, worst
    return worst


@pytest.mark.parametrize("name", NAMES)
def test_cli_embed_matches_sentence_transformers(name):
    g = golden(name)
    out = run("embed", "--model", MODELS / name, *texts_of(g), check=0).stdout
    rows = [r["embedding"] for r in json_lines(out)]
    check_rows(rows, g)
    for row in rows:
        norm = math.sqrt(sum(x * x for x in row))
        assert math.isclose(norm, 1.0, rel_tol=1e-5) == g["normalize"]
    info = run("info", "--model", MODELS / name, check=0).stdout
    assert f"embedding size:   {g['embedding_dim']}" in info and "+ Dense" in info


def test_cli_normalize_choice_and_pooling_refusal():
    """--normalize on a folder without Normalize normalizes after the Dense
    modules; --pool other than the folder's is refused, naming why."""
    g = golden("bert_dense_nonorm_st")
    rows = [r["embedding"] for r in json_lines(
        run("embed", "--model", MODELS / "bert_dense_nonorm_st", "--normalize", *texts_of(g),
            check=0).stdout)]
    for row, case in zip(rows, g["cases"]):
        n = math.sqrt(sum(x * x for x in case["embedding"]))
        assert max_abs_diff(row, [x / n for x in case["embedding"]]) < TOLERANCE
    proc = run("embed", "--model", MODELS / "bert_dense_st", "--pool", "cls", "x")
    assert proc.returncode != 0
    assert "cls pooling is refused: the model's 2 Dense module(s) follow its own mean" \
        in proc.stderr


def test_artifact_without_the_folder(tmp_path):
    """The Dense weights travel in the artifact: a copy opened with the
    folder gone embeds as the folder does."""
    g = golden("bert_dense_st")
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_dense_st", folder)
    art = tmp_path / "dense.sinter"
    run("compile", "--model", folder, "-o", art, check=0)
    shutil.rmtree(folder)
    rows = [r["embedding"] for r in json_lines(
        run("embed", "--model", art, *texts_of(g), check=0).stdout)]
    check_rows(rows, g)


def test_content_key_covers_the_dense_files(tmp_path):
    """Each Dense module's config and weights are key sources: changing the
    weights compiles anew and gives other embeddings."""
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_dense_st", folder)
    first = run("compile", "--model", folder, check=0).stdout.strip()
    w = folder / "3_Dense" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-4:] = b"\x00\x00\x80\x3f"  # the last weight becomes 1.0
    w.write_bytes(bytes(data))
    second = run("compile", "--model", folder, check=0).stdout.strip()
    assert first != second


def test_server_embed_and_openai_dimensions(tmp_path):
    g = golden("bert_dense_st")
    texts = texts_of(g)
    s = Server(tmp_path, MODELS / "bert_dense_st")
    try:
        status, info, _ = s.get("/info")
        assert status == 200 and info["embedding_dim"] == 24 and info["hidden_size"] == 32
        status, got, _ = s.post("/embed", {"inputs": texts, "truncate": True})
        assert status == 200
        check_rows(got, g)
        # TEI's normalize=false: the Dense output before the Normalize
        status, raw, _ = s.post("/embed", {"inputs": texts, "truncate": True,
                                           "normalize": False})
        assert status == 200
        for vec, case in zip(raw, g["cases"]):
            n = math.sqrt(sum(x * x for x in vec))
            assert n > 0 and max_abs_diff([x / n for x in vec], case["embedding"]) < TOLERANCE
        status, body, _ = s.post("/v1/embeddings", {"input": texts[:3]})
        assert status == 200
        rows = [d["embedding"] for d in body["data"]]
        assert all(len(r) == 24 for r in rows)
        for row, case in zip(rows, g["cases"]):
            assert max_abs_diff(row, case["embedding"]) < TOLERANCE
        # Matryoshka: the first 16 of 24, renormalized
        status, body, _ = s.post("/v1/embeddings", {"input": texts[:2], "dimensions": 16})
        assert status == 200
        for d, case in zip(body["data"], g["cases"]):
            head = case["embedding"][:16]
            n = math.sqrt(sum(x * x for x in head))
            assert max_abs_diff(d["embedding"], [x / n for x in head]) < TOLERANCE
        status, _, _ = s.post("/v1/embeddings", {"input": ["x"], "dimensions": 32})
        assert status in (400, 422)
    finally:
        assert s.stop() == 0


def copy_fixture(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_dense_st", folder)
    return folder


def refused(folder):
    proc = run("info", "--model", folder)
    assert proc.returncode != 0
    return proc.stderr


def test_refusals(tmp_path):
    folder = copy_fixture(tmp_path)
    cfg_path = folder / "3_Dense" / "config.json"
    cfg = json.loads(cfg_path.read_text())

    cfg_path.write_text(json.dumps({**cfg, "activation_function":
                                    "torch.nn.modules.activation.Sigmoid"}))
    err = refused(folder)
    assert "3_Dense/config.json: unsupported activation_function " \
           "\"torch.nn.modules.activation.Sigmoid\"" in err

    cfg_path.write_text(json.dumps({**cfg, "in_features": 41}))
    err = refused(folder)
    assert "3_Dense/config.json: in_features 41 does not match the 40 features of the Dense " \
           "module before it" in err

    cfg_path.write_text(json.dumps(cfg))
    first = folder / "2_Dense" / "config.json"
    first_cfg = json.loads(first.read_text())
    first.write_text(json.dumps({**first_cfg, "in_features": 48}))
    err = refused(folder)
    assert "2_Dense/config.json: in_features 48 does not match the 32 features of the pooled " \
           "embedding" in err
    first.write_text(json.dumps(first_cfg))

    weights = folder / "3_Dense" / "model.safetensors"
    saved = weights.read_bytes()
    weights.unlink()
    err = refused(folder)
    assert "3_Dense/model.safetensors: the Dense module's weights are missing" in err
    (folder / "3_Dense" / "pytorch_model.bin").write_bytes(b"PK\x03\x04")
    err = refused(folder)
    assert "3_Dense/pytorch_model.bin: the Dense module's weights are a PyTorch pickle" in err
    weights.write_bytes(saved)
    assert run("info", "--model", folder).returncode == 0

    # a weight of the wrong shape
    cfg_path.write_text(json.dumps({**cfg, "out_features": 20}))
    err = refused(folder)
    assert "tensor \"linear.weight\" has shape [24, 40], expected [20, 40]" in err


def patch_config(art, old, new):
    """Replaces `old` by `new` (same length) in the artifact's CONFIG
    section and rewrites its checksums, as a hostile cache entry could."""
    import struct
    import xxhash
    assert len(old) == len(new)
    data = bytearray(art.read_bytes())
    n_sections = struct.unpack_from("<I", data, 60)[0]
    for i in range(n_sections):
        entry = 256 + 32 * i
        kind, _, off, size, _ = struct.unpack_from("<IIQQQ", data, entry)
        if kind == 1:  # CONFIG
            section = bytes(data[off:off + size])
            assert section.count(old) == 1, section
            data[off:off + size] = section.replace(old, new)
            struct.pack_into("<Q", data, entry + 24, xxhash.xxh3_64_intdigest(
                bytes(data[off:off + size])))
    struct.pack_into("<Q", data, 120,
                     xxhash.xxh3_64_intdigest(bytes(data[256:256 + 32 * n_sections])))
    struct.pack_into("<Q", data, 240, xxhash.xxh3_64_intdigest(bytes(data[:240])))
    art.write_bytes(bytes(data))


def test_artifact_dense_entries_are_checked(tmp_path):
    """The CONFIG section's Dense list is untrusted: widths that do not chain
    or an unknown activation are refused by name, never run."""
    art = tmp_path / "dense.sinter"
    run("compile", "--model", MODELS / "bert_dense_st", "-o", art, check=0)
    good = art.read_bytes()
    patch_config(art, b'"in_features":40', b'"in_features":41')
    proc = run("embed", "--model", art, "x")
    assert proc.returncode != 0
    assert "3_Dense/config.json: in_features 41 does not match the 40 features" in proc.stderr
    art.write_bytes(good)
    patch_config(art, b'"activation":"Tanh"', b'"activation":"Tant"')
    proc = run("embed", "--model", art, "x")
    assert proc.returncode != 0 and "CONFIG dense module 0 is invalid" in proc.stderr
    art.write_bytes(good)
    patch_config(art, b'"out_features":24', b'"out_features":23')
    proc = run("embed", "--model", art, "x")
    assert proc.returncode != 0 and "plan output \"embeddings\" is not [B, 23]" in proc.stderr
    art.write_bytes(good)
    assert run("embed", "--model", art, "x").returncode == 0
