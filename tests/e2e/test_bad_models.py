"""Broken model folders: each gives exit 1 and a message naming the problem
and the file, never a crash."""
import json
import struct

from conftest import binaries, run


def expect_error(model_dir, *needles):
    """Loading must fail with exit 1 and name every needle, in the release
    build and under ASan+UBSan (which abort with another code on any error)."""
    for binary in binaries():
        proc = run("info", "--model", model_dir, check=1, binary=binary)
        for needle in needles:
            assert needle in proc.stderr, proc.stderr
        assert "Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr


def edit_config(folder, **changes):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_missing_folder_and_files(tmp_path, model_copy):
    expect_error(tmp_path / "nope", "nope/config.json", "cannot open")
    folder = model_copy("bert_cls")
    (folder / "model.safetensors").unlink()
    expect_error(folder, "model.safetensors")


def test_truncated_safetensors(model_copy):
    folder = model_copy("bert_cls")
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    expect_error(folder, str(path))


def test_header_claiming_2_pow_60_bytes(model_copy):
    folder = model_copy("bert_cls")
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 1 << 60) + data[8:])
    expect_error(folder, str(path))


def rewrite_header(path, edit):
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


def test_overlapping_offsets(model_copy):
    folder = model_copy("bert_cls")
    path = folder / "model.safetensors"
    def overlap(h):
        names = sorted((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"])
        a, b = h[names[0]], h[names[1]]
        b["data_offsets"] = [a["data_offsets"][0], a["data_offsets"][0] + (b["data_offsets"][1] - b["data_offsets"][0])]
    rewrite_header(path, overlap)
    expect_error(folder, str(path))


def test_wrong_dtype_and_shape(model_copy):
    folder = model_copy("bert_cls")
    path = folder / "model.safetensors"
    rewrite_header(path, lambda h: h["classifier.bias"].update(dtype="I32"))
    expect_error(folder, "classifier.bias", "I32")
    folder2 = model_copy("distilbert_cls")
    path2 = folder2 / "model.safetensors"
    def bad_shape(h):
        t = h["classifier.bias"]
        t["shape"] = [t["shape"][0] + 1]
    rewrite_header(path2, bad_shape)
    expect_error(folder2, "classifier.bias")


def test_shape_not_matching_config(model_copy):
    folder = model_copy("bert_cls")
    edit_config(folder, intermediate_size=48)
    expect_error(folder, "encoder.layer.0.intermediate.dense.weight", "expected [48, 32]")


def test_missing_tensor_named(model_copy):
    folder = model_copy("bert_cls")
    edit_config(folder, num_hidden_layers=3)
    expect_error(folder, "missing", "encoder.layer.2.attention.self.query.weight")


def test_bad_configs(model_copy):
    folder = model_copy("bert_cls")
    edit_config(folder, hidden_size=0)
    expect_error(folder, "config.json", "\"hidden_size\" is 0")
    edit_config(folder, hidden_size=-32)
    expect_error(folder, "\"hidden_size\" is -32")
    edit_config(folder, hidden_size=30)
    expect_error(folder, "not a multiple of the number of attention heads")
    edit_config(folder, hidden_size=32, model_type="electra")
    expect_error(folder, "unsupported model_type \"electra\"")
    # A family's model_type with another family's architecture.
    edit_config(folder, model_type="roberta")
    expect_error(folder, "unsupported architecture \"BertForSequenceClassification\" for model_type "
                 "roberta")
    edit_config(folder, model_type="bert", hidden_act="silu")
    expect_error(folder, "unsupported activation \"silu\"")
    edit_config(folder, hidden_act="gelu", position_embedding_type="relative_key_query")
    expect_error(folder, "position_embedding_type")


def test_non_utf8_config(model_copy):
    folder = model_copy("bert_cls")
    path = folder / "config.json"
    path.write_bytes(path.read_bytes().replace(b'"negative"', b'"neg\xffative"'))
    expect_error(folder, "config.json", "invalid UTF-8 at byte")


def test_unexpected_tensor_is_a_warning(model_copy):
    folder = model_copy("bert_mlm")
    edit_config(folder, architectures=["BertModel"])
    proc = run("info", "--model", folder, check=0)
    assert "unexpected tensor" not in proc.stderr  # cls.* heads are known and skipped
