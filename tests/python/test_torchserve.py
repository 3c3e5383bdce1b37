"""sinter.torchserve: the handler driven directly (a ts Context, as a
TorchServe worker gives it), then inside a real TorchServe (PyPI torchserve
and torch-model-archiver 0.12, Java 17) with archives made by
torch-model-archiver: the default model with its compile cache on a local
S3 (moto) and the classifier fixture. A second TorchServe with an empty local
cache downloads the first one's artifact instead of compiling. Vectors are
compared with sinter.Model.encode, labels and scores with Model.classify.

Everything listens on 127.0.0.1 (free ports); each TorchServe has its own
temp folder (its pid file, worker sockets and unpacked archives) and is
stopped with `torchserve --stop`, then by the PIDs it started. Skipped
without torchserve."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ts.torch_handler.base_handler")
psutil = pytest.importorskip("psutil")  # a torchserve dependency

import sinter  # noqa: E402
import sinter.torchserve as sts  # noqa: E402
from ts.context import Context, RequestProcessor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import DEFAULT_MODEL, classifier_with_tokenizer  # noqa: E402
from s3_helpers import MotoS3, free_port  # noqa: E402

BIN = Path(sys.executable).parent
TORCHSERVE, ARCHIVER = BIN / "torchserve", BIN / "torch-model-archiver"
TEXTS = ["The cat sat on the mat.", "A quick brown fox jumps over the lazy dog.",
         "Embeddings map sentences to vectors.", "héllo wörld, ünïcode",
         "Short.", "TorchServe batches requests; sinter packs them without padding."]
# Start to a first answer measured ~7 s on the 2-core machine (JVM, then a worker
# importing torch and opening the model); the bound allows for a loaded machine.
READY_S = 90


class Metrics:
    """What BaseHandler.handle records (TorchServe's metrics cache)."""

    def add_time(self, *args, **kwargs):
        pass


def context(model_dir, config=None, manifest=None, requests=1):
    """A ts Context as a worker makes it, with `requests` request slots."""
    ctx = Context("m", str(model_dir), manifest or {"model": {"modelName": "m"}}, 8, None,
                  "0.12.0", metrics=Metrics(), model_yaml_config=config or {})
    ctx.request_processor = [RequestProcessor({}) for _ in range(requests)]
    return ctx


def handler(model_dir, config=None, manifest=None):
    h = sts.Handler()
    h.initialize(context(model_dir, config, manifest))
    return h


def answer(h, rows):
    """(status, parsed body) per request of one handle() call."""
    ctx = context(h.context.system_properties["model_dir"], requests=len(rows))
    ctx.model_yaml_config = h.model_yaml_config
    out = h.handle(rows, ctx)
    assert len(out) == len(rows)
    for i in range(len(rows)):
        assert ctx.get_response_content_type(i) == "application/json"
    return [(ctx.get_response_status(i)[0], json.loads(o)) for i, o in enumerate(out)]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ts-cache"))


@pytest.fixture(scope="module")
def reference(cache):
    return sinter.Model(DEFAULT_MODEL, cache=cache)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return classifier_with_tokenizer(tmp_path_factory.mktemp("ts-cls"))


# ----------------------------------------------------------- the handler alone


def test_import_sinter_needs_no_torchserve():
    code = ("import sys, sinter; sinter.Model; "
            "assert 'ts' not in sys.modules and 'sinter.torchserve' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_handler_answers_every_body_form_in_one_batch(cache, reference):
    h = handler(DEFAULT_MODEL, {"handler": {"cache": cache}})
    assert h.model.info["origin"] in ("compiled", "local_cache")
    rows = [
        {"body": TEXTS[0].encode()},                                   # raw bytes
        {"body": TEXTS[1]},                                            # text/plain
        {"body": {"text": TEXTS[2]}},                                  # JSON {"text"}
        {"body": {"inputs": TEXTS[3:5]}},                              # JSON {"inputs": [...]}
        {"data": json.dumps({"inputs": TEXTS[5]}).encode()},          # a form field, JSON bytes
        {"body": {"nothing": 1}},                                      # no texts
        {"body": [1, 2]},                                              # not strings
        {"body": b"\xff\xfe"},                                         # not UTF-8
        {"body": [TEXTS[0], TEXTS[1]]},                                # a JSON list
        {"body": {"inputs": []}},                                      # nothing to embed
        {},                                                            # `curl -d TEXT`
        TEXTS[2],                                                      # the body itself
    ]
    got = answer(h, rows)
    statuses = [s for s, _ in got]
    assert statuses == [200] * 5 + [400] * 3 + [200, 200, 400, 200], got
    for s, body in got:
        if s == 400:
            assert body["code"] == 400 and body["type"] == "BadRequestException"
            assert body["message"]
    assert "inputs" in got[5][1]["message"] and "inputs[0]" in got[6][1]["message"]
    assert "UTF-8" in got[7][1]["message"] and "text/plain" in got[10][1]["message"]
    assert got[9][1] == []
    vectors = [r["embedding"] for k in (0, 1, 2, 3, 4, 8, 11) for r in got[k][1]]
    want = reference.encode(TEXTS + TEXTS[:3])
    assert np.abs(np.array(vectors, dtype=np.float64) - want).max() <= 1e-5
    # One sinter call per batch; the describe answer reports it.
    meta = json.loads(h.describe_handle())
    assert (meta["requests"], meta["batches"], meta["largest_batch"]) == (12, 1, 12)
    assert meta["engine"] == "sinter" and meta["hidden_size"] == 384
    # An encoder takes no pairs.
    [(status, body)] = answer(h, [{"body": {"inputs": [["a", "b"]]}}])
    assert status == 400 and "classifier" in body["message"]


def test_handler_classifier_labels_and_scores(classifier, cache):
    h = handler(classifier, {"handler": {"cache": cache}})
    model = sinter.Model(classifier, cache=cache)
    texts = ["this movie was great", "a terrible film", "ok"]
    got = answer(h, [{"body": texts[0]}, {"body": {"inputs": texts[1:]}},
                     {"body": {"text": "i love it", "text_pair": "it is good"}},
                     {"body": {"inputs": [["i hate it", "not good"], "fine"]}}])
    assert [s for s, _ in got] == [200] * 4
    rows = [r for _, body in got for r in body]
    labels, scores = model.classify(texts)
    plabels, pscores = model.classify([("i love it", "it is good"), ("i hate it", "not good")])
    flabel, fscores = model.classify("fine")
    want = list(zip(labels, scores)) + [(plabels[0], pscores[0]), (plabels[1], pscores[1]),
                                        (flabel, fscores)]
    assert len(rows) == len(want)
    for row, (label, probs) in zip(rows, want):
        assert row["label"] == label and abs(row["score"] - float(probs.max())) <= 1e-5
        assert list(row["scores"]) == model.labels == ["negative", "neutral", "positive"]
        assert np.abs(np.array(list(row["scores"].values())) - probs).max() <= 1e-5


def test_handler_never_unpickles(tmp_path, monkeypatch, reference):
    """No torch.load or torch.jit.load, even with a serialized file in the
    manifest: a .sinter artifact there is opened as it is."""
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("the handler must not load torch files")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(torch.jit, "load", refuse)
    reference.save(tmp_path / "minilm.sinter")
    h = handler(tmp_path, manifest={"model": {"modelName": "m",
                                              "serializedFile": "minilm.sinter"}})
    assert h.model.info["origin"] == "file"
    [(status, body)] = answer(h, [{"body": TEXTS[0]}])
    assert status == 200
    assert np.abs(np.array(body[0]["embedding"]) - reference.encode(TEXTS[0])).max() <= 1e-5


def test_handler_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="--extra-files"):
        handler(tmp_path)
    with pytest.raises(FileNotFoundError, match="handler.model"):
        handler(tmp_path, {"handler": {"model": "nope"}})


def test_function_entry_point_and_threads(monkeypatch, cache):
    """`from sinter.torchserve import handle` in a handler file: TorchServe
    calls handle(None, ctx) once, then handle(batch, ctx). Threads default to
    the CPUs shared among maxWorkers."""
    monkeypatch.setattr(sts, "_service", None)
    config = {"maxWorkers": 2, "handler": {"cache": cache}}
    ctx = context(DEFAULT_MODEL, config)
    assert sts.handle(None, ctx) is None
    assert sts._service.initialized
    assert sts._service._threads() == max(1, sinter.cpu_count() // 2)
    ctx = context(DEFAULT_MODEL, config, requests=2)
    out = sts.handle([{"body": "a"}, {"body": "b"}], ctx)
    assert [len(json.loads(o)[0]["embedding"]) for o in out] == [384, 384]
    assert sts._service.batches == 1


@pytest.mark.parametrize("name,code", [
    ("handler_function", "from sinter.torchserve import handle\n"),
    ("handler_class", "import sinter.torchserve\n\n\n"
                      "class Handler(sinter.torchserve.Handler):\n    pass\n")])
def test_torchserve_loader_takes_the_handler_file(tmp_path, monkeypatch, cache, reference, name,
                                                  code):
    """TorchServe's own model loader (what a worker runs) on an unpacked
    archive holding either handler file, then a batch through its Service,
    reading the answer back from the worker's wire format."""
    import struct

    from ts.model_loader import TsModelLoader

    (tmp_path / f"{name}.py").write_text(code)
    (tmp_path / "model-config.yaml").write_text(
        f"handler:\n  model: {DEFAULT_MODEL}\n  cache: {cache}\n")
    manifest = {"runtime": "python", "model": {"modelName": "m", "handler": f"{name}.py",
                                               "configFile": "model-config.yaml"}}
    (tmp_path / "MAR-INF").mkdir()
    (tmp_path / "MAR-INF" / "MANIFEST.json").write_text(json.dumps(manifest))
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker's PYTHONPATH has the model dir
    monkeypatch.setattr(sts, "_service", None)

    class MetricsCache(Metrics):
        def set_request_ids(self, ids):
            pass

    service = TsModelLoader().load("m", str(tmp_path), f"{name}.py", None, 4,
                                   metrics_cache=MetricsCache())
    service.set_cl_socket(None)  # the worker's socket, for streamed answers only
    msg = service.predict([{"requestId": b"r1", "parameters": [
        {"name": "body", "contentType": "text/plain", "value": TEXTS[0]}]}])
    (code,) = struct.unpack_from("!i", msg, 0)
    assert code == 200
    at = bytes(msg).index(b'[{"embedding"')
    (size,) = struct.unpack_from("!i", msg, at - 4)
    body = json.loads(bytes(msg[at:at + size]))
    assert np.abs(np.array(body[0]["embedding"]) - reference.encode(TEXTS[0])).max() <= 1e-5


# ------------------------------------------------------------ a real TorchServe


class TorchServe:
    """One TorchServe (launcher, JVM frontend, Python workers) in `root`."""

    def __init__(self, root, store, models, env):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.port, self.management = free_port(), free_port()
        (self.root / "config.properties").write_text(
            f"inference_address=http://127.0.0.1:{self.port}\n"
            f"management_address=http://127.0.0.1:{self.management}\n"
            f"metrics_address=http://127.0.0.1:{free_port()}\n"
            f"grpc_inference_port={free_port()}\ngrpc_management_port={free_port()}\n"
            "disable_token_authorization=true\n"
            "install_py_dep_per_model=false\n"
            "default_workers_per_model=1\n")
        # TEMP: the JVM's temp folder (worker sockets, unpacked archives);
        # TMPDIR: the launcher's pid file, which `torchserve --stop` reads.
        self.env = dict(env, TEMP=str(self.tmp), TMPDIR=str(self.tmp),
                        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        self.out = open(self.root / "torchserve.out", "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(TORCHSERVE), "--start", "--foreground", "--ncs", "--disable-token-auth",
             "--model-store", str(store), "--ts-config", str(self.root / "config.properties"),
             "--models", *models],
            cwd=self.root, env=self.env, stdout=self.out, stderr=subprocess.STDOUT)
        self.pids = {self.proc.pid}

    def _track(self):
        try:
            self.pids.update(p.pid for p in psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.Error:
            pass

    def logs(self):
        text = ""
        for name in ("torchserve.out", "logs/ts_log.log", "logs/model_log.log"):
            path = self.root / name
            if path.exists():
                text += f"--- {name}\n" + path.read_text(errors="replace")[-3000:]
        return text

    def wait_ready(self, names):
        """Until every model's worker is READY (/ping answers before that)."""
        deadline = self.started + READY_S
        for name in names:
            while True:
                self._track()
                assert self.proc.poll() is None, "torchserve exited\n" + self.logs()
                try:
                    status, body, _ = self.request("GET", f"/models/{name}", management=True)
                    if status == 200 and any(w["status"] == "READY" for w in body[0]["workers"]):
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"{name} not ready\n" + self.logs()
                time.sleep(0.25)
        self._track()
        return time.monotonic() - self.started

    def request(self, method, path, body=None, content_type=None, management=False):
        """(status, parsed JSON or text, headers)."""
        port = self.management if management else self.port
        headers = {"Content-Type": content_type} if content_type else {}
        if isinstance(body, (dict, list)):
            body, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, raw, hdrs = e.code, e.read(), e.headers
        try:
            return status, json.loads(raw), hdrs
        except ValueError:
            return status, raw.decode(errors="replace"), hdrs

    def describe(self, name):
        status, body, _ = self.request("GET", f"/models/{name}?customized=true",
                                       management=True)
        assert status == 200, body
        meta = body[0]["customizedMetadata"]
        return json.loads(meta) if isinstance(meta, str) else meta

    def stop(self):
        self._track()
        try:
            subprocess.run([str(TORCHSERVE), "--stop"], cwd=self.root, env=self.env,
                           capture_output=True, timeout=60)
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        finally:
            for pid in self.pids:  # only what this TorchServe started
                try:
                    if psutil.Process(pid).is_running():
                        os.kill(pid, signal.SIGKILL)
                except (psutil.Error, ProcessLookupError):
                    pass
            if self.proc.poll() is None:
                self.proc.wait(timeout=10)
            self.out.close()


def archive(tmp, name, folder, config, store):
    """A .mar made by torch-model-archiver: the folder's files, a one-line
    handler file and the model config."""
    work = tmp / f"archive-{name}"
    work.mkdir()
    (work / "sinter_handler.py").write_text("from sinter.torchserve import handle\n")
    (work / "model-config.yaml").write_text(config)
    env = dict(os.environ, TMPDIR=str(work))  # its staging folder: gettempdir()/NAME
    subprocess.run([str(ARCHIVER), "--model-name", name, "--version", "1.0",
                    "--handler", str(work / "sinter_handler.py"), "--extra-files", str(folder),
                    "--config-file", str(work / "model-config.yaml"), "--export-path", str(store)],
                   check=True, env=env, capture_output=True, timeout=120)
    return f"{name}={name}.mar"


@pytest.fixture(scope="module")
def moto():
    server = MotoS3("sinter-ts")
    yield server
    server.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, moto, classifier):
    """TorchServe with minilm (compile cache on S3, named in the archive's
    model config) and the classifier (local cache)."""
    if shutil.which("java") is None:
        pytest.skip("TorchServe needs Java (openjdk-17-jre-headless)")
    tmp = tmp_path_factory.mktemp("torchserve")
    store = tmp / "store"
    store.mkdir()
    batching = "minWorkers: 1\nmaxWorkers: 1\nbatchSize: 8\nmaxBatchDelay: 100\n"
    models = [archive(tmp, "minilm", DEFAULT_MODEL,
                      batching + "handler:\n  cache: s3://sinter-ts/torchserve\n", store),
              archive(tmp, "cls", classifier, batching, store)]
    server = TorchServe(tmp / "a", store, models,
                        moto.env(SINTER_CACHE_DIR=str(tmp / "a" / "cache")))
    try:
        server.ready_s = server.wait_ready(["minilm", "cls"])
        server.store, server.models, server.tmp_root = store, models, tmp
        yield server
    finally:
        server.stop()


def test_torchserve_embeds_like_sinter(served, reference):
    status, body, hdrs = served.request("POST", "/predictions/minilm", TEXTS[0], "text/plain")
    assert status == 200, body
    assert hdrs["Content-Type"].startswith("application/json")
    assert list(body[0]) == ["embedding"] and len(body) == 1
    want = reference.encode(TEXTS)
    assert np.abs(np.array(body[0]["embedding"]) - want[0]).max() <= 1e-5
    for form in ({"text": TEXTS[1]}, {"inputs": TEXTS[1]}, {"data": [TEXTS[1]]}):
        status, body, _ = served.request("POST", "/predictions/minilm", form)
        assert status == 200 and np.abs(np.array(body[0]["embedding"]) - want[1]).max() <= 1e-5
    status, body, _ = served.request("POST", "/predictions/minilm", {"inputs": TEXTS})
    assert status == 200 and len(body) == len(TEXTS)
    assert np.abs(np.array([r["embedding"] for r in body]) - want).max() <= 1e-5
    # Raw bytes without a text type (TorchServe hands them over undecoded).
    status, body, _ = served.request("POST", "/predictions/minilm", TEXTS[3].encode(),
                                     "application/octet-stream")
    assert status == 200 and np.abs(np.array(body[0]["embedding"]) - want[3]).max() <= 1e-5
    status, body, _ = served.request("POST", "/predictions/minilm", {"nothing": 1})
    assert status == 400 and body["type"] == "BadRequestException" and "inputs" in body["message"]


def test_torchserve_batches_concurrent_requests(served, reference):
    before = served.describe("minilm")
    texts = [f"request {i}: {TEXTS[i % len(TEXTS)]}" for i in range(24)]
    bodies = [t if i % 2 else {"inputs": [t]} for i, t in enumerate(texts)]
    bodies[5] = bodies[17] = {"wrong": "key"}  # bad requests inside the batches
    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda b: served.request(
            "POST", "/predictions/minilm", b, None if isinstance(b, dict) else "text/plain"),
            bodies))
    want = reference.encode(texts)
    for i, (status, body, _) in enumerate(got):
        if i in (5, 17):
            assert status == 400 and body["code"] == 400, body
            continue
        assert status == 200, (i, body)
        assert np.abs(np.array(body[0]["embedding"]) - want[i]).max() <= 1e-5, i
    after = served.describe("minilm")
    assert after["requests"] - before["requests"] == 24
    assert after["largest_batch"] > 1, after  # TorchServe gathered requests into one call
    assert after["batches"] - before["batches"] < 24


def test_torchserve_classifier(served, classifier, cache):
    model = sinter.Model(classifier, cache=cache)
    status, body, _ = served.request("POST", "/predictions/cls", "this movie was great",
                                     "text/plain")
    label, scores = model.classify("this movie was great")
    assert status == 200 and body[0]["label"] == label
    assert abs(body[0]["score"] - float(scores.max())) <= 1e-5
    status, body, _ = served.request("POST", "/predictions/cls",
                                     {"text": "i love it", "text_pair": "it is good"})
    label, scores = model.classify([("i love it", "it is good")])
    assert status == 200 and body[0]["label"] == label[0]
    assert np.abs(np.array(list(body[0]["scores"].values())) - scores[0]).max() <= 1e-5


def test_second_torchserve_downloads_the_artifact(served, moto, reference):
    """The first TorchServe compiled minilm and uploaded it to S3; a second
    one with an empty local cache starts from the download."""
    first = served.describe("minilm")
    assert first["origin"] == "compiled", first
    listed = moto.s3().list_objects_v2(Bucket="sinter-ts", Prefix="torchserve/")
    assert any(first["content_key"] in o["Key"] for o in listed.get("Contents", [])), listed
    tmp = served.tmp_root
    second = TorchServe(tmp / "b", served.store, served.models[:1],
                        moto.env(SINTER_CACHE_DIR=str(tmp / "b" / "cache")))
    try:
        second.wait_ready(["minilm"])
        meta = second.describe("minilm")
        assert meta["origin"] == "remote_cache" and meta["content_key"] == first["content_key"]
        status, body, _ = second.request("POST", "/predictions/minilm", TEXTS[2], "text/plain")
        assert status == 200
        assert np.abs(np.array(body[0]["embedding"]) - reference.encode(TEXTS[2])).max() <= 1e-5
    finally:
        second.stop()
