"""Issue 10's red-team findings, one regression test each: artifacts, cache
entries and model folders are untrusted input. Each test failed on the main
before the fix (the finding's number is in its name)."""
import json
import os
import shutil
import struct

import sys

from conftest import DEFAULT_MODEL, MODELS, binaries, ids_arg, json_lines, run

sys.path.insert(0, os.path.dirname(__file__))


def sanitizer_clean(proc):
    assert "Sanitizer" not in proc.stderr and "runtime error" not in proc.stderr, proc.stderr


def compile_to(tmp_path, name, **kw):
    out = tmp_path / f"{name}.sinter"
    run("compile", "--model", MODELS / name, "-o", out, check=0)
    return out


def test_2_inspect_with_a_huge_section_count(tmp_path):
    """A 4-byte edit of n_sections (offset 60) once made inspect print stack
    memory: now it names the checksum failure and prints no more sections
    than a table holds."""
    art = compile_to(tmp_path, "bert_cls")
    data = bytearray(art.read_bytes())
    struct.pack_into("<I", data, 60, 100000)
    bad = tmp_path / "bad.sinter"
    bad.write_bytes(bytes(data))
    for binary in binaries():
        proc = run("inspect", bad, check=1, binary=binary)
        sanitizer_clean(proc)
        assert "checksum mismatch" in proc.stderr
        assert sum(1 for line in proc.stdout.splitlines() if " offset " in line) <= 16


def cache_entries(cache):
    return sorted(p for p in cache.iterdir() if p.suffix == ".sinter")


def test_3_cache_entry_copied_over_another_key(tmp_path):
    """Entry A copied over entry B's file name is not B: the key inside the
    artifact must be the one it is stored under."""
    cache = tmp_path / "cache"
    env = dict(os.environ, SINTER_CACHE_DIR=str(cache))
    a, b = MODELS / "bert_cls", MODELS / "distilbert_cls"
    ids = ids_arg([1, 5, 9, 22, 7])

    def classify(model):
        proc = run_env(env, "classify", "--model", model, "--ids", ids)
        assert proc.returncode == 0, proc.stderr
        return proc

    want_b = json_lines(classify(b).stdout)[0]["logits"]
    entries = cache_entries(cache)
    assert len(entries) == 1
    entry_b = entries[0]
    classify(a)
    entry_a = next(p for p in cache_entries(cache) if p != entry_b)
    shutil.copyfile(entry_a, entry_b)
    # cache verify names the entry and why.
    proc = run_env(env, "cache", "verify")
    assert "another key" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    shutil.copyfile(entry_a, entry_b)
    # A lookup refuses it, says so, and compiles B again.
    proc = classify(b)
    assert "compiled for key" in proc.stderr, proc.stderr
    assert json_lines(proc.stdout)[0]["logits"] == want_b


def run_env(env, *args):
    import subprocess
    from conftest import SINTER
    return subprocess.run([str(SINTER), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_4_pooling_module_outside_1_pooling(tmp_path):
    """The content key hashes the Pooling config modules.json names: moving it
    to P/ and changing mean to cls must not return stale mean-pooled vectors."""
    folder = tmp_path / "st"
    shutil.copytree(MODELS / "bert_gelu_new_st", folder)
    (folder / "1_Pooling").rename(folder / "P")
    modules = json.loads((folder / "modules.json").read_text())
    for m in modules:
        if m["path"] == "1_Pooling":
            m["path"] = "P"
    (folder / "modules.json").write_text(json.dumps(modules))
    ids = ids_arg([2, 40, 41, 42, 3])

    def embeddings(*mode):
        return json_lines(run("embed", "--model", folder, "--ids", ids, *mode, check=0).stdout)[0]

    first = embeddings()
    pooling = json.loads((folder / "P" / "config.json").read_text())
    pooling["pooling_mode_mean_tokens"] = False
    pooling["pooling_mode_cls_token"] = True
    (folder / "P" / "config.json").write_text(json.dumps(pooling))
    compiled, eager = embeddings(), embeddings("--mode", "eager")
    key = next(k for k in compiled if isinstance(compiled[k], list))
    assert max(abs(x - y) for x, y in zip(compiled[key], eager[key])) < 1e-4
    assert max(abs(x - y) for x, y in zip(compiled[key], first[key])) > 1e-3


def test_6_pad_token_outside_the_vocabulary(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_cls", folder)
    config = json.loads((folder / "config.json").read_text())
    config["pad_token_id"] = config["vocab_size"] + 7
    (folder / "config.json").write_text(json.dumps(config))
    for binary in binaries():
        proc = run("embed", "--mode", "eager", "--model", folder, "--ids", "1 2 3", check=1,
                   binary=binary)
        sanitizer_clean(proc)
        assert "pad_token_id" in proc.stderr and "outside the vocabulary" in proc.stderr


def test_7_prune_sizes_out_of_range(tmp_path):
    """'1e30', 'inf', '2e19' once became 0 bytes (prune removed everything) and
    '0x10' 16 bytes: only plain decimal sizes are taken now."""
    cache = tmp_path / "cache"
    env = dict(os.environ, SINTER_CACHE_DIR=str(cache))
    assert run_env(env, "classify", "--model", MODELS / "bert_cls", "--ids", "1 2").returncode == 0
    for size in ["1e30", "inf", "2e19", "0x10", "nan", "-1", "", "1..2"]:
        proc = run_env(env, "cache", "prune", "--max-size", size)
        assert proc.returncode == 2, (size, proc.stderr)
        assert len(cache_entries(cache)) == 1, size
    assert "more bytes than a cache can hold" in run_env(
        env, "cache", "prune", "--max-size", "20000000000T").stderr
    assert run_env(env, "cache", "prune", "--max-size", "1.5G").returncode == 0
    assert len(cache_entries(cache)) == 1


def test_8_killed_compile_leaves_a_temp_that_verify_and_prune_see(tmp_path):
    """A compile killed with -9 leaves its temporary artifact: it is named as
    the cache's temporaries are, so verify reports it and prune sweeps it."""
    cache = tmp_path / "cache"
    env = dict(os.environ, SINTER_CACHE_DIR=str(cache))
    assert run_env(env, "classify", "--model", MODELS / "bert_cls", "--ids", "1 2").returncode == 0
    key = cache_entries(cache)[0].stem
    left = cache / f"{key}.sinter.tmp.4242.compile.tmp.4242"
    left.write_bytes(b"\0" * 4096)
    two_hours_ago = left.stat().st_mtime - 7200
    os.utime(left, (two_hours_ago, two_hours_ago))
    proc = run_env(env, "cache", "verify")
    assert proc.returncode == 0 and left.name in proc.stdout, proc.stdout + proc.stderr
    proc = run_env(env, "cache", "prune", "--max-size", "10G")
    assert proc.returncode == 0, proc.stderr
    assert not left.exists() and len(cache_entries(cache)) == 1


def poison_tensor(folder, name, value=float("nan")):
    """Overwrites every element of an F32 tensor of model.safetensors."""
    path = folder / "model.safetensors"
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    entry = next(v for k, v in header.items() if k.endswith(name))
    assert entry["dtype"] == "F32"
    begin, end = entry["data_offsets"]
    for at in range(8 + n + begin, 8 + n + end, 4):
        struct.pack_into("<f", data, at, value)
    path.write_bytes(bytes(data))


def test_9_non_finite_results_are_valid_json(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_cls", folder)
    poison_tensor(folder, "classifier.bias")
    poison_tensor(folder, "embeddings.LayerNorm.bias", float("inf"))
    for mode in [[], ["--mode", "eager"]]:
        proc = run("classify", "--model", folder, "--ids", "1 5 9", *mode, check=0)
        row = json.loads(proc.stdout)  # strict JSON: no nan, inf or -nan
        assert row["logits"] == [None, None, None] and row["score"] is None
        assert "non-finite values" in proc.stderr
        if not mode:  # compiling read the weights and said which
            assert "weight \"classifier.bias\" has 3 non-finite values" in proc.stderr
        proc = run("embed", "--model", folder, "--ids", "1 5 9", *mode, check=0)
        assert all(v is None for v in json.loads(proc.stdout)["embedding"])
        proc = run("embed", "--model", folder, "--ids", "1 5 9", "--ids", "--similarity", "1 2",
                   *mode, check=0)
        assert "0.000" not in proc.stdout and "nan" in proc.stdout


def test_10_fifo_in_place_of_a_file(tmp_path):
    """Opening a FIFO waited for a writer forever: now it is refused as not a
    regular file (config.json, a module config, an artifact)."""
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_gelu_new_st", folder)
    (folder / "1_Pooling" / "config.json").unlink()
    os.mkfifo(folder / "1_Pooling" / "config.json")
    proc = run("info", "--model", folder, check=1, timeout=20)
    assert "1_Pooling/config.json" in proc.stderr and "not a regular file" in proc.stderr
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    assert "not a regular file" in run("info", "--model", folder, check=1, timeout=20).stderr
    # Optional files too: a FIFO is refused, not taken for absent.
    for name in ("modules.json", "tokenizer.json"):
        other = tmp_path / f"o-{name}"
        shutil.copytree(MODELS / "bert_gelu_new_st", other)
        (other / name).unlink(missing_ok=True)
        os.mkfifo(other / name)
        proc = run("info", "--model", other, check=1, timeout=20)
        assert f"{name}: not a regular file" in proc.stderr, proc.stderr
    os.mkfifo(tmp_path / "a.sinter")
    for command in (["inspect", tmp_path / "a.sinter"],
                    ["embed", "--model", tmp_path / "a.sinter", "--ids", "1 2"]):
        assert "not a regular file" in run(*command, check=1, timeout=20).stderr


def test_12_nul_byte_on_stdin_names_the_line(tmp_path):
    proc = run("embed", "--model", MODELS / "bert_cls", "--ids", stdin="1 2\n3 4\x00 5 6\n",
               check=1)
    assert "stdin line 2 contains a NUL byte" in proc.stderr


def test_5_links_out_of_the_folder_are_refused(tmp_path):
    """A symlink to a secret once went into the artifact (and the bucket):
    added_tokens.json is not read at all now, so it is not embedded, and a
    file the loader reads that links outside the folder is refused."""
    secret = tmp_path / "credentials"
    secret.write_text("[default]\naws_secret_access_key = SECRET-DO-NOT-UPLOAD\n")
    folder = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL, folder)
    (folder / "added_tokens.json").unlink(missing_ok=True)
    os.symlink(secret, folder / "added_tokens.json")
    art = tmp_path / "a.sinter"
    run("compile", "--model", folder, "-o", art, check=0)
    assert b"SECRET-DO-NOT-UPLOAD" not in art.read_bytes()
    (folder / "vocab.txt").unlink(missing_ok=True)
    os.symlink(secret, folder / "vocab.txt")
    (folder / "tokenizer.json").unlink()
    proc = run("compile", "--model", folder, "-o", tmp_path / "b.sinter", check=1)
    assert "vocab.txt is a link to" in proc.stderr and "outside the model folder" in proc.stderr
    # A link inside the folder is fine, and the override lets hub-cache layouts in.
    os.unlink(folder / "vocab.txt")
    shutil.copy(DEFAULT_MODEL / "vocab.txt", folder / "vocab.real.txt")
    os.symlink("vocab.real.txt", folder / "vocab.txt")
    run("info", "--model", folder, check=0)
    os.unlink(folder / "vocab.txt")
    os.symlink(DEFAULT_MODEL / "vocab.txt", folder / "vocab.txt")
    assert run("info", "--model", folder).returncode == 1
    env = dict(os.environ, SINTER_ALLOW_EXTERNAL_LINKS="1")
    assert run_env(env, "info", "--model", folder).returncode == 0


def test_14_smaller_findings(tmp_path):
    bert = MODELS / "bert_cls"
    # A URL whose ".." would send the requests to another bucket.
    proc = run("classify", "--model", bert, "--ids", "1 2", "--cache", "s3://b/../other/x",
               check=1)
    assert "\"..\" are not allowed" in proc.stderr
    # Numbers that atoi wrapped around (99999999999 -> 1215752191).
    for option in ("--batch", "--seq", "--iters"):
        proc = run("bench", "--model", bert, option, "99999999999", check=2)
        assert f"{option} needs a number" in proc.stderr
    assert "--max-seq needs a number" in run("compile", "--model", bert, "--max-seq",
                                             "4294967297", check=2).stderr
    # --max-length below the special tokens was silently ignored.
    for n in ("0", "1"):
        proc = run("tokenize", "--model", DEFAULT_MODEL, "--max-length", n, "hello world", check=2)
        assert "special tokens" in proc.stderr
    row = json_lines(run("tokenize", "--model", DEFAULT_MODEL, "--max-length", "3",
                         "hello world", check=0).stdout)[0]
    assert row["ids"] == [101, 7592, 102]
    # Truncation is said, not silent.
    proc = run("embed", "--model", DEFAULT_MODEL, "word " * 600, check=0)
    assert "were truncated" in proc.stderr and "256 tokens" in proc.stderr
    # Two '|' named as such (it said "2 ids but 2 type ids").
    proc = run("embed", "--model", bert, "--ids", "101 102 | 0 1 | 1", check=1)
    assert "more than one '|'" in proc.stderr
    # A cache that cannot be written: the run goes on uncached, with a warning.
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = dict(os.environ, SINTER_CACHE_DIR=str(blocker / "cache"))
    proc = run_env(env, "classify", "--model", bert, "--ids", "1 5 9 22 7")
    assert proc.returncode == 0, proc.stderr
    assert "not cached" in proc.stderr and json_lines(proc.stdout)[0]["label"]


def test_14_added_token_id_at_int32_max(tmp_path):
    """UBSan once reported a signed overflow for an added token of id 2^31-1."""
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(DEFAULT_MODEL / "vocab.txt", folder / "vocab.txt")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "added_tokens_decoder": {"2147483647": {"content": "<big>", "special": True}}}))
    for binary in binaries():
        proc = run("tokenize", "--model", folder, "hi <big>", binary=binary)
        sanitizer_clean(proc)
        assert proc.returncode in (0, 1), proc.stderr


def test_28_added_tokens_decoder_not_an_object(tmp_path):
    """The CI fuzzer found a crash: added_tokens_decoder given as a list had
    entries without keys, read as ids (strtol of NULL)."""
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(DEFAULT_MODEL / "vocab.txt", folder / "vocab.txt")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "added_tokens_decoder": [{"content": "<big>", "special": True}]}))
    for binary in binaries():
        proc = run("tokenize", "--model", folder, "hi <big>", binary=binary, check=1)
        sanitizer_clean(proc)
        assert "tokenizer_config.json" in proc.stderr
        assert "added_tokens_decoder" in proc.stderr


def test_13_eager_checks_its_memory_before_allocating(tmp_path):
    """A batch of 4096 long lines once grew the process to 15.8 GB before the
    limit error; the peak is now computed before anything is allocated."""
    import subprocess
    from conftest import SINTER
    lines = tmp_path / "lines.txt"
    lines.write_text(("word " * 300 + "\n") * 4096)
    with open(lines) as f:  # a file: all of a batch is waiting at once
        proc = subprocess.run([str(SINTER), "embed", "--mode", "eager", "--batch-size", "4096",
                               "--model", str(DEFAULT_MODEL)], stdin=f, capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode == 1
    assert "bytes of intermediates at once" in proc.stderr, proc.stderr


def test_13_results_stream_as_their_batch_finishes(tmp_path):
    """(echo a; sleep; echo b) | sinter embed printed nothing until the end:
    now the first result comes while the writer still holds its next line."""
    import select
    import subprocess
    from conftest import SINTER
    proc = subprocess.Popen([str(SINTER), "classify", "--model", str(MODELS / "bert_cls"),
                             "--ids"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write("1 5 9\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no result while the input stayed open"
        first = json.loads(proc.stdout.readline())
        assert first["index"] == 0
        proc.stdin.write("2 6\n")
        proc.stdin.close()
        second = json.loads(proc.stdout.readline())
        assert second["index"] == 1
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()


def test_13_a_bad_line_is_named_and_the_rest_runs(tmp_path):
    lines = "1 2 3\nnot ids\n4 5 6\n7 8\x00 9\n10 11\n"
    proc = run("classify", "--model", MODELS / "bert_cls", "--ids", stdin=lines, check=1)
    rows = json_lines(proc.stdout)
    assert [r["index"] for r in rows] == [0, 2, 4]
    assert "input 1" in proc.stderr and "stdin line 4 contains a NUL byte" in proc.stderr
    assert "2 input(s) failed" in proc.stderr


def test_13_memory_stays_bounded_for_many_lines(tmp_path):
    """A million lines once held 360 MB before the first result; now one
    batch at a time: the peak RSS of 60,000 lines stays near that of 10."""
    import resource
    import subprocess
    from conftest import SINTER

    def peak_rss_kb(n):
        path = tmp_path / f"lines{n}.txt"
        path.write_text(("1 5 9 22 7 3 2 8 4 6 " * 6 + "\n") * n)
        with open(path) as f:
            out = subprocess.run(["/usr/bin/time", "-f", "%M", str(SINTER), "classify",
                                  "--model", str(MODELS / "bert_cls"), "--ids"], stdin=f, capture_output=True, text=True,
                                 timeout=600)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.splitlines()) == n
        return int(out.stderr.strip().splitlines()[-1])

    small, large = peak_rss_kb(10), peak_rss_kb(60000)
    # Held all at once, 60,000 lines of 60 ids took ~40 MB more than 10 lines.
    assert large < small + 15 * 1024, (small, large)


def s3_env(tmp_path, endpoint, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("SINTER_")}
    env.update(SINTER_CACHE_DIR=str(tmp_path / "cache"), AWS_ACCESS_KEY_ID="AKIDTEST",
               AWS_SECRET_ACCESS_KEY="secret", AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
    env.update(extra)
    return env


def test_11_hung_endpoint_gives_up_at_the_deadline_and_says_it_waits(tmp_path):
    """A hung endpoint held a cache miss for 47 s, silently: one deadline per
    request now, and a line as soon as it waits."""
    import time
    from s3_helpers import StallingServer
    server = StallingServer(mode="stall", length=1 << 20, send=16)
    try:
        env = s3_env(tmp_path, server.endpoint, SINTER_S3_DEADLINE_S="3",
                     SINTER_S3_STALL_TIMEOUT_S="60")
        t0 = time.monotonic()
        proc = run_env(env, "classify", "--model", MODELS / "bert_cls", "--ids", "1 2",
                       "--cache", "s3://bucket/p")
        took = time.monotonic() - t0
        assert proc.returncode == 0, proc.stderr
        assert "waiting for s3://bucket/p/" in proc.stderr
        assert "gave up on" in proc.stderr and "after 3 s" in proc.stderr
        assert took < 20, took  # the GET's 3 s, the upload's 3 s, and the compile
    finally:
        server.close()


def test_11_huge_content_length_is_not_written(tmp_path):
    """A GET with a huge Content-Length streaming zeros was written until the
    disk was full: the cap derived from the model stops it at once."""
    from s3_helpers import StallingServer
    server = StallingServer(mode="stall", length=1 << 40, send=1 << 20)
    try:
        env = s3_env(tmp_path, server.endpoint, SINTER_S3_DEADLINE_S="10")
        proc = run_env(env, "classify", "--model", MODELS / "bert_cls", "--ids", "1 2",
                       "--cache", "s3://bucket/p")
        assert proc.returncode == 0, proc.stderr
        assert "the most an artifact of this model can be" in proc.stderr, proc.stderr
        left = [p for p in (tmp_path / "cache").iterdir() if ".tmp." in p.name]
        assert not left, left
    finally:
        server.close()


def test_11_one_remote_lookup_per_miss(tmp_path):
    """The remote was asked twice per miss (before and after the compile
    lock), so each failure was paid and reported twice."""
    from s3_helpers import StallingServer
    server = StallingServer(mode="error", status=503, code="SlowDown")
    try:
        env = s3_env(tmp_path, server.endpoint, SINTER_S3_ATTEMPTS="1")
        proc = run_env(env, "classify", "--model", MODELS / "bert_cls", "--ids", "1 2",
                       "--cache", "s3://bucket/p")
        assert proc.returncode == 0, proc.stderr
        gets = [line for line in proc.stderr.splitlines()
                if "SlowDown" in line and "continuing without the remote cache" in line]
        assert len(gets) == 1, proc.stderr
    finally:
        server.close()


def test_14_config_key_with_a_nul_byte(tmp_path):
    """A raw NUL in a config.json key once compiled into an artifact that never
    loaded (and was rebuilt every run): the folder is refused, naming the byte."""
    folder = tmp_path / "m"
    shutil.copytree(MODELS / "bert_cls", folder)
    text = (folder / "config.json").read_text().rstrip().rstrip("}") + ', "x\x00y": 1}'
    (folder / "config.json").write_bytes(text.encode())
    proc = run("classify", "--model", folder, "--ids", "1 2", check=1)
    assert "config.json: control byte 0x00" in proc.stderr, proc.stderr
