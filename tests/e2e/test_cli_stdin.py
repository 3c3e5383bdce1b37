"""Every CLI command that reads stdin, on the release build and on the
ASan+UBSan build when it exists: a sanitizer-only failure (gcc's UBSan
reported memchr on the line reader's still-empty buffer and exited 1 on any
stdin input) cannot hide behind a green release build."""
import pytest

from conftest import (DEFAULT_MODEL, binaries, classifier_with_tokenizer, json_lines,
                      one_logit_cross_encoder, run)


def clean(proc):
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "runtime error" not in proc.stderr and "Sanitizer" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("binary", binaries(), ids=lambda b: b.parent.name)
def test_embed_and_tokenize_read_stdin(binary):
    lines = "A man plays a guitar.\n\nSomeone plays music\n"
    proc = run("embed", "--model", DEFAULT_MODEL, stdin=lines, binary=binary, timeout=600)
    clean(proc)
    got = json_lines(proc.stdout)
    assert len(got) == 3
    proc = run("tokenize", "--model", DEFAULT_MODEL, stdin=lines, binary=binary, timeout=600)
    clean(proc)
    assert len(json_lines(proc.stdout)) == 3
    # No input at all is a usage error, and no sanitizer report.
    proc = run("embed", "--model", DEFAULT_MODEL, stdin="", binary=binary, timeout=600)
    assert proc.returncode == 1 and "no inputs given" in proc.stderr, proc.stderr
    assert "runtime error" not in proc.stderr


@pytest.mark.parametrize("binary", binaries(), ids=lambda b: b.parent.name)
def test_classify_and_rerank_read_stdin(binary, tmp_path):
    folder = classifier_with_tokenizer(tmp_path)
    proc = run("classify", "--model", folder, stdin="this movie was great\nbad\n",
               binary=binary, timeout=600)
    clean(proc)
    assert [r["index"] for r in json_lines(proc.stdout)] == [0, 1]
    proc = run("classify", "--model", folder, "--pair", stdin="this movie\twas great\n",
               binary=binary, timeout=600)
    clean(proc)
    assert len(json_lines(proc.stdout)) == 1
    cross = one_logit_cross_encoder(tmp_path / "cross")
    proc = run("rerank", "--model", cross, "the movie", stdin="a good film\nbad\n",
               binary=binary, timeout=600)
    clean(proc)
    assert sorted(r["index"] for r in json_lines(proc.stdout)) == [0, 1]
