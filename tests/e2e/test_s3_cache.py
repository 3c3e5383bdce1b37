"""End-to-end tests of the compile cache's S3 remote (src/cache/cache.c,
src/cache/s3.c), driven through tools/cache_tool (sinter-cache-tool) against
a local moto S3 server that checks SigV4 signatures, plus small misbehaving
HTTP servers. Everything listens on 127.0.0.1 only.

The tool comes from the CMake build (the ASan+UBSan one when scripts/test.sh
made it); SINTER_CACHE_TOOL names another. Needs moto[server] in the venv."""
import base64
import hashlib
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from s3_helpers import FullBacklogServer, MotoS3, StallingServer, closed_port

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "sinter-cache"
MAGIC = "SINTERTEST\n"  # the tool's stand-in validator wants entries to start with it


@pytest.fixture(scope="session", autouse=True)
def built_binary():
    """Overrides conftest's check for build/sinter: these tests only need the
    cache tool, which they build themselves."""
    yield


@pytest.fixture(scope="session")
def tool():
    """The cache tool CMake builds: the sanitizer build when scripts/test.sh
    made one, else the release build; SINTER_CACHE_TOOL overrides."""
    given = os.environ.get("SINTER_CACHE_TOOL")
    if given:
        return Path(given)
    for build in ("build-asan", "build"):
        path = ROOT / build / "sinter-cache-tool"
        if path.exists():
            return path
    pytest.fail("sinter-cache-tool is not built: run scripts/setup.sh")


@pytest.fixture(scope="module")
def moto():
    server = MotoS3(BUCKET)
    yield server
    server.close()


def key_for(text):
    return hashlib.sha256(text.encode()).hexdigest()


def make_artifact(path, size=3 * 1024 * 1024 + 5):
    data = MAGIC.encode() + os.urandom(size - len(MAGIC))
    path.write_bytes(data)
    return data


def run_tool(tool, env, *args, timeout=60):
    start = time.monotonic()
    proc = subprocess.run([str(tool), "--require-prefix", MAGIC, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    proc.elapsed = time.monotonic() - start
    return proc


def warnings_of(proc):
    return [line[len("warning: "):] for line in proc.stderr.splitlines()
            if line.startswith("warning: ")]


def leftovers(cache_dir):
    return sorted(p.name for p in Path(cache_dir).glob("*.tmp.*"))


def test_put_uploads_and_an_empty_cache_downloads(tool, moto, tmp_path):
    key = key_for("round trip")
    url = f"s3://{BUCKET}/round/trip"
    art = tmp_path / "model.sinter"
    data = make_artifact(art)
    env = moto.env(SINTER_CACHE_URL=url)

    put = run_tool(tool, env, "--dir", tmp_path / "a", "put", key, art)
    assert put.returncode == 0, put.stderr
    assert warnings_of(put) == []
    # The object is there, with the size and the SHA-256 checksum S3 stored.
    obj = moto.s3().head_object(Bucket=BUCKET, Key=f"round/trip/{key}.sinter",
                                ChecksumMode="ENABLED")
    assert obj["ContentLength"] == len(data)
    assert obj["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    head = run_tool(tool, env, "--dir", tmp_path / "a", "head", key)
    assert head.returncode == 0 and head.stdout.strip() == str(len(data)), head.stderr
    missing = run_tool(tool, env, "head", key_for("never stored"))
    assert missing.returncode == 3 and "404" in missing.stderr

    # A second, empty cache directory gets the entry from S3, without a compile.
    out = tmp_path / "out.sinter"
    get = run_tool(tool, env, "--dir", tmp_path / "b", "get", key, out)
    assert get.returncode == 0, get.stderr
    assert get.stdout.startswith("hit remote "), get.stdout
    assert out.read_bytes() == data
    assert (tmp_path / "b" / f"{key}.sinter").read_bytes() == data
    again = run_tool(tool, env, "--dir", tmp_path / "b", "get", key)
    assert again.stdout.startswith("hit local "), again.stdout
    # A corrupt local copy is dropped and fetched again.
    (tmp_path / "b" / f"{key}.sinter").write_bytes(b"truncated")
    again = run_tool(tool, env, "--dir", tmp_path / "b", "get", key)
    assert again.stdout.startswith("hit remote "), again.stdout
    [warning] = warnings_of(again)
    assert "is corrupt and was removed" in warning, warning
    assert (tmp_path / "b" / f"{key}.sinter").read_bytes() == data
    assert leftovers(tmp_path / "b") == []

    ensure = run_tool(tool, env, "--dir", tmp_path / "c", "ensure", key, art)
    assert ensure.returncode == 0, ensure.stderr
    assert ensure.stdout.startswith("hit remote "), ensure.stdout


def test_session_token_credentials(tool, moto, tmp_path):
    """Temporary credentials: the token goes out as x-amz-security-token."""
    access, secret, token = moto.session
    env = moto.env(AWS_ACCESS_KEY_ID=access, AWS_SECRET_ACCESS_KEY=secret,
                   AWS_SESSION_TOKEN=token, SINTER_CACHE_URL=f"s3://{BUCKET}/sts")
    key = key_for("sts")
    art = tmp_path / "a.sinter"
    data = make_artifact(art, 10000)
    put = run_tool(tool, env, "--dir", tmp_path / "a", "put", key, art)
    assert put.returncode == 0 and warnings_of(put) == [], put.stderr
    get = run_tool(tool, env, "--dir", tmp_path / "b", "get", key, tmp_path / "out")
    assert get.stdout.startswith("hit remote "), get.stderr
    assert (tmp_path / "out").read_bytes() == data
    # Without the token the same key and secret are refused, with the server's reason.
    env.pop("AWS_SESSION_TOKEN")
    get = run_tool(tool, env, "--dir", tmp_path / "c", "get", key)
    assert get.returncode == 3
    assert any(f"S3 GET s3://{BUCKET}/sts/{key}.sinter: 403 " in w for w in warnings_of(get)), \
        get.stderr


def test_wrong_secret_is_a_clear_403_and_falls_back(tool, moto, tmp_path):
    key = key_for("wrong secret")
    art = tmp_path / "a.sinter"
    make_artifact(art, 50000)
    wrong = "wrongwrongwrongwrongwrongwrongwrongwrong"
    env = moto.env(AWS_SECRET_ACCESS_KEY=wrong, SINTER_CACHE_URL=f"s3://{BUCKET}/bad/secret")

    put = run_tool(tool, env, "--dir", tmp_path / "a", "put", key, art)
    assert put.returncode == 0, put.stderr
    [warning] = warnings_of(put)
    assert warning.startswith(
        f"S3 PUT s3://{BUCKET}/bad/secret/{key}.sinter: 403 SignatureDoesNotMatch: "
        "The request signature we calculated does not match"), warning
    assert "local cache only" in warning
    assert wrong not in put.stderr + put.stdout
    assert moto.secret_key not in put.stderr + put.stdout
    assert (tmp_path / "a" / f"{key}.sinter").exists()  # still cached locally
    with pytest.raises(Exception) as exc:
        moto.s3().head_object(Bucket=BUCKET, Key=f"bad/secret/{key}.sinter")
    assert "404" in str(exc.value)

    get = run_tool(tool, env, "--dir", tmp_path / "b", "get", key)
    assert get.returncode == 3  # a miss, not an error
    [warning] = warnings_of(get)
    assert warning.startswith(
        f"S3 GET s3://{BUCKET}/bad/secret/{key}.sinter: 403 SignatureDoesNotMatch: "), warning


def test_unknown_access_key(tool, moto, tmp_path):
    art = tmp_path / "a.sinter"
    make_artifact(art, 1000)
    env = moto.env(AWS_ACCESS_KEY_ID="AKIANOTAREALKEY00000", SINTER_CACHE_URL=f"s3://{BUCKET}/x")
    put = run_tool(tool, env, "--dir", tmp_path / "a", "put", key_for("unknown"), art)
    assert put.returncode == 0, put.stderr
    [warning] = warnings_of(put)
    assert ": 403 InvalidAccessKeyId: " in warning, warning


@pytest.mark.parametrize("mode", ["stall", "close"])
def test_server_failing_mid_download_falls_back_quickly(tool, moto, tmp_path, mode):
    server = StallingServer(mode=mode, length=64 << 20, send=4096)
    try:
        env = moto.env(AWS_ENDPOINT_URL=server.endpoint, SINTER_S3_STALL_TIMEOUT_S="1",
                       SINTER_S3_ATTEMPTS="2", SINTER_CACHE_URL=f"s3://{BUCKET}/p")
        key = key_for("stall")
        get = run_tool(tool, env, "--dir", tmp_path / "a", "get", key, timeout=60)
    finally:
        server.close()
    assert get.returncode == 3, get.stderr
    [warning] = warnings_of(get)
    assert warning.startswith(f"S3 GET s3://{BUCKET}/p/{key}.sinter: "), warning
    if mode == "stall":
        assert (f"transfer from {server.endpoint} stalled: no data for 1 s "
                "(received 4096 of 67108864 bytes") in warning, warning
    else:
        assert (f"{server.endpoint} closed the connection early (received 4096 of 67108864 "
                "bytes)") in warning, warning
    assert "(after 2 attempts); continuing without the remote cache" in warning
    assert server.requests == 2
    # Two attempts with a 1 s stall limit: seconds, not a hang.
    assert get.elapsed < 20, get.elapsed
    assert leftovers(tmp_path / "a") == []
    assert not (tmp_path / "a" / f"{key}.sinter").exists()


def test_unreachable_endpoint_falls_back(tool, moto, tmp_path):
    port = closed_port()
    env = moto.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                   SINTER_CACHE_URL=f"s3://{BUCKET}/p")
    key = key_for("unreachable")
    art = tmp_path / "a.sinter"
    make_artifact(art, 1000)
    put = run_tool(tool, env, "--dir", tmp_path / "a", "put", key, art)
    assert put.returncode == 0, put.stderr
    [warning] = warnings_of(put)
    assert warning == (f"S3 HEAD s3://{BUCKET}/p/{key}.sinter: could not connect to "
                       f"http://127.0.0.1:{port} (Connection refused) (after 3 attempts); "
                       "the entry stays in the local cache only"), warning
    assert "stored " in put.stdout

    get = run_tool(tool, env, "--dir", tmp_path / "b", "get", key)
    assert get.returncode == 3
    [warning] = warnings_of(get)
    assert f"could not connect to http://127.0.0.1:{port} (Connection refused)" in warning
    assert leftovers(tmp_path / "b") == []


def test_connect_timeout_falls_back(tool, moto, tmp_path):
    server = FullBacklogServer()
    try:
        env = moto.env(AWS_ENDPOINT_URL=server.endpoint, SINTER_S3_CONNECT_TIMEOUT_MS="500",
                       SINTER_CACHE_URL=f"s3://{BUCKET}/p")
        get = run_tool(tool, env, "--dir", tmp_path / "a", "get", key_for("timeout"))
    finally:
        server.close()
    assert get.returncode == 3, get.stderr
    [warning] = warnings_of(get)
    assert (f"timed out connecting to {server.endpoint} after 500 ms (after 3 attempts)"
            in warning), warning
    assert get.elapsed < 20, get.elapsed


@pytest.mark.parametrize("status,code,attempts", [(503, "SlowDown", 3), (500, "InternalError", 3),
                                                  (403, "AccessDenied", 1)])
def test_server_errors_retry_only_5xx(tool, moto, tmp_path, status, code, attempts):
    server = StallingServer(mode="error", status=status, code=code)
    try:
        env = moto.env(AWS_ENDPOINT_URL=server.endpoint, SINTER_CACHE_URL=f"s3://{BUCKET}/p")
        key = key_for("errors")
        get = run_tool(tool, env, "--dir", tmp_path / "a", "get", key)
    finally:
        server.close()
    assert get.returncode == 3, get.stderr
    [warning] = warnings_of(get)
    suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
    assert warning == (f"S3 GET s3://{BUCKET}/p/{key}.sinter: {status} {code}: Injected "
                       f"<failure> & more{suffix}; continuing without the remote cache"), warning
    assert server.requests == attempts


def test_download_checked_against_stored_checksum(tool, moto, tmp_path):
    """An object whose stored x-amz-checksum-sha256 does not match its bytes
    is rejected after the download, even though it would pass validation."""
    key = key_for("checksum mismatch")
    body = MAGIC.encode() + b"x" * 5000
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    moto.s3().put_object(Bucket=BUCKET, Key=f"cks/{key}.sinter", Body=body,
                         ChecksumAlgorithm="SHA256", ChecksumSHA256=wrong)
    env = moto.env(SINTER_CACHE_URL=f"s3://{BUCKET}/cks")
    get = run_tool(tool, env, "--dir", tmp_path / "a", "get", key)
    assert get.returncode == 3, get.stdout
    [warning] = warnings_of(get)
    assert f"the object's x-amz-checksum-sha256 is {wrong}" in warning, warning
    assert leftovers(tmp_path / "a") == []


def test_corrupt_remote_object_is_not_used(tool, moto, tmp_path):
    key = key_for("corrupt remote")
    moto.s3().put_object(Bucket=BUCKET, Key=f"corrupt/{key}.sinter", Body=b"garbage" * 1000)
    env = moto.env(SINTER_CACHE_URL=f"s3://{BUCKET}/corrupt")
    get = run_tool(tool, env, "--dir", tmp_path / "a", "get", key)
    assert get.returncode == 3, get.stdout
    [warning] = warnings_of(get)
    assert f"s3://{BUCKET}/corrupt/{key}.sinter is corrupt and was not used" in warning
    assert not (tmp_path / "a" / f"{key}.sinter").exists()
    assert leftovers(tmp_path / "a") == []


def test_concurrent_compilers_of_one_key_compile_once(tool, moto, tmp_path):
    key = key_for("concurrent")
    art = tmp_path / "a.sinter"
    data = make_artifact(art, 200000)
    env = moto.env(SINTER_CACHE_URL=f"s3://{BUCKET}/concurrent")
    with ThreadPoolExecutor(4) as pool:
        procs = list(pool.map(
            lambda _: run_tool(tool, env, "--dir", tmp_path / "shared", "ensure", key, art,
                               "--delay-ms", "300"), range(4)))
    assert all(p.returncode == 0 for p in procs), [p.stderr for p in procs]
    outcomes = sorted(p.stdout.split()[0] + (" " + p.stdout.split()[1]
                                             if p.stdout.startswith("hit") else "")
                      for p in procs)
    assert outcomes == ["compiled", "hit local", "hit local", "hit local"], outcomes
    assert (tmp_path / "shared" / f"{key}.sinter").read_bytes() == data
    obj = moto.s3().get_object(Bucket=BUCKET, Key=f"concurrent/{key}.sinter")
    assert obj["Body"].read() == data


def test_local_management_commands(tool, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("SINTER_")}
    env["SINTER_CACHE_DIR"] = str(tmp_path / "cache")
    keys = [key_for(f"entry {i}") for i in range(3)]
    for i, key in enumerate(keys):
        art = tmp_path / f"{i}.sinter"
        make_artifact(art, 1000 * (i + 1))
        assert run_tool(tool, env, "put", key, art).returncode == 0
        os.utime(tmp_path / "cache" / f"{key}.sinter", (1_000_000 + i, 1_000_000 + i))
    ls = run_tool(tool, env, "ls")
    assert [line.split()[0] for line in ls.stdout.splitlines()] == keys[::-1]
    (tmp_path / "cache" / f"{keys[2]}.sinter").write_bytes(b"truncated")
    verify = run_tool(tool, env, "verify")
    assert verify.returncode == 1 and f"corrupt {keys[2]}: " in verify.stdout
    verify = run_tool(tool, env, "verify", "--remove")
    assert f"corrupt {keys[2]} (removed)" in verify.stdout
    prune = run_tool(tool, env, "prune", "2500")
    assert prune.stdout.startswith("removed 1 entries (1000 bytes), kept 1 (2000 bytes)"), \
        prune.stdout
    assert run_tool(tool, env, "rm", keys[1]).returncode == 0
    assert run_tool(tool, env, "rm", keys[1]).returncode == 3
    assert run_tool(tool, env, "ls").stdout == ""
