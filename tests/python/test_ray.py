"""sinter on Ray: a local cluster (a head and one more worker node on
127.0.0.1) embeds a few thousand texts through Ray Data with sinter.ray.Embedder
actors, checked against the single-process vectors, and the Ray Serve
deployment answers over HTTP. Skipped without ray."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import sinter  # noqa: E402

from conftest import DEFAULT_MODEL, classifier_with_tokenizer  # noqa: E402

RAY = Path(sys.executable).with_name("ray")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ray")
    port = free_port()
    # Token auth off everywhere: a ~/.ray/auth_token left by another Ray would make
    # the head require a token the other node does not send.
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_DEDUP_LOGS="0")
    common = ["--disable-usage-stats", "--num-cpus=1"]
    subprocess.run([str(RAY), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                    "--include-dashboard=false", f"--temp-dir={tmp}", *common],
                   check=True, env=env, capture_output=True, timeout=180)
    address = f"127.0.0.1:{port}"
    try:
        subprocess.run([str(RAY), "start", f"--address={address}", "--node-ip-address=127.0.0.1",
                        *common], check=True, env=env, capture_output=True, timeout=180)
        ray.init(address=address, log_to_driver=False)
        deadline = time.monotonic() + 60
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert time.monotonic() < deadline, ray.nodes()
            time.sleep(0.5)
        yield {"address": address, "cache": str(tmp / "cache")}
    finally:
        ray.shutdown()
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)


def texts(n):
    words = "the cat sat on a mat while rain fell over quiet hills and rivers".split()
    return [" ".join(words[(i * 7 + k) % len(words)] for k in range(3 + i % 40)) for i in range(n)]


def test_ray_data_embeds_a_dataset_like_one_process(cluster):
    data = texts(3000)
    ds = ray.data.from_items([{"text": t, "id": i} for i, t in enumerate(data)])
    out = ds.map_batches(sinter.ray.Embedder,
                         fn_constructor_kwargs={"model": str(DEFAULT_MODEL),
                                                "cache": cluster["cache"], "threads": 1},
                         concurrency=2, batch_size=256, num_cpus=1).take_all()
    assert len(out) == len(data)
    got = np.stack([r["embedding"] for r in sorted(out, key=lambda r: r["id"])])
    want = sinter.Model(DEFAULT_MODEL, cache=cluster["cache"]).encode(data)
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-6


def test_ray_serve_deployment_answers_over_http(cluster, tmp_path):
    from ray import serve
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(sinter.ray.app({"model": str(DEFAULT_MODEL), "cache": cluster["cache"],
                                  "replicas": "2", "threads": "1", "num_cpus": "0.5"}),
                  name="minilm",
                  route_prefix="/minilm")
        body = json.dumps({"inputs": ["hello world", "a second text"]}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/minilm", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            got = np.array(json.loads(r.read()), dtype=np.float32)
        want = sinter.Model(DEFAULT_MODEL, cache=cluster["cache"]).encode(["hello world",
                                                                           "a second text"])
        assert np.abs(got - want).max() < 1e-6
        cls = classifier_with_tokenizer(tmp_path / "cls")
        serve.run(sinter.ray.app({"model": str(cls), "cache": cluster["cache"], "num_cpus": "0.5"}),
                  name="cls",
                  route_prefix="/cls")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/cls",
                                     data=json.dumps({"inputs": "great movie"}).encode())
        with urllib.request.urlopen(req, timeout=120) as r:
            rows = json.loads(r.read())
        assert rows[0]["label"] in ("negative", "neutral", "positive")
    finally:
        serve.shutdown()
