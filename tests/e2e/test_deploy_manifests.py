"""The deployment files kept honest without a cluster or a container engine:

- deploy/kubernetes/*.yaml validate against Kubernetes' own schemas
  (kubernetes-validate, pinned in scripts/setup.sh, ships them: offline) for
  a pinned Kubernetes version, strictly (no unknown fields);
- the Deployment's `sinter serve` arguments are flags `sinter serve --help`
  lists, parse, and start a server whose readiness, liveness and Prometheus
  paths answer on the ports the manifest names; the grace period outlasts
  preStop plus --drain-timeout; CPU request = limit = --threads; the cache URL
  and credentials come from a Secret; the cache volume is SINTER_CACHE_DIR;
  the Service, autoscaler and disruption budget select the Deployment;
- the Containerfile copies files that exist, installs scripts/setup.sh's
  packages in its build stage, serves the model where the manifest looks for
  it, runs as a non-root user, and its runtime-package script works on this
  Debian on the built binary."""
import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT_MODEL, ROOT, SINTER, run
from serve_helpers import free_port

K8S = ROOT / "deploy" / "kubernetes"
CONTAINERFILE = ROOT / "Containerfile"
SETUP = ROOT / "scripts" / "setup.sh"
# The Kubernetes versions the manifests are checked against: the oldest minor
# version still commonly run and the newest kubernetes-validate 1.37.0 ships
# (it carries the schemas of 1.25 to 1.37 in the package).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def documents():
    """(file name, document) of every manifest."""
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out.append((path.name, doc))
    return out


def one(kind):
    [doc] = [d for _, d in documents() if d["kind"] == kind]
    return doc


def container():
    [c] = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return c


def serve_args():
    args = container()["args"]
    assert args[0] == "serve", args
    return args[1:]


def flag(args, name):
    """The value after `name` in args (None when absent)."""
    return args[args.index(name) + 1] if name in args else None


def cpu_cores(quantity):
    q = str(quantity)
    return int(q[:-1]) / 1000 if q.endswith("m") else float(q)


def test_manifests_validate_against_the_kubernetes_schemas():
    import kubernetes_validate
    docs = documents()
    assert {d["kind"] for _, d in docs} >= {"Deployment", "Service", "HorizontalPodAutoscaler"}
    for version in KUBERNETES_VERSIONS:
        for name, doc in docs:
            try:
                got = kubernetes_validate.validate(doc, version, strict=True)
                assert version.startswith(got + "."), (version, got)  # no older schema
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"{name}: {doc['kind']} for Kubernetes {version}: {e.message} at "
                            f"{'.'.join(map(str, e.path))}")
    # The check bites: a misspelt field and a wrong type are refused.
    bad = one("Deployment")
    bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[-1], strict=True)
    bad = one("Service")
    bad["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSIONS[-1], strict=True)


def test_serve_flags_exist_and_parse():
    args = serve_args()
    help_text = run("serve", "--help", check=0).stdout
    known = set(re.findall(r"--[a-z][a-z-]*", help_text))
    used = [a for a in args if a.startswith("--")]
    assert used and set(used) <= known, set(used) - known
    # The values parse too: --help after them prints the usage once they
    # have all been read (an unknown flag or a bad value stops with 2 first).
    run("serve", *args, "--help", check=0)


def test_grace_period_outlasts_pre_stop_and_the_drain():
    spec = one("Deployment")["spec"]["template"]["spec"]
    drain = int(flag(serve_args(), "--drain-timeout"))
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", command
    pre_stop = int(command[1])
    assert spec["terminationGracePeriodSeconds"] > pre_stop + drain, (spec, pre_stop, drain)


def test_cpu_request_and_limit_are_the_threads():
    res = container()["resources"]
    threads = int(flag(serve_args(), "--threads"))
    assert cpu_cores(res["requests"]["cpu"]) == cpu_cores(res["limits"]["cpu"]) == threads
    assert res["requests"]["memory"] == res["limits"]["memory"]


def test_cache_url_credentials_and_volume():
    c = container()
    env = {e["name"]: e for e in c["env"]}
    for name in ("SINTER_CACHE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert "value" not in env[name], name
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "sinter-cache", name
    assert "--cache" not in serve_args()  # the URL comes from the Secret's env only
    cache_dir = env["SINTER_CACHE_DIR"]["value"]
    [mount] = [m for m in c["volumeMounts"] if m["mountPath"] == cache_dir]
    volumes = {v["name"]: v for v in one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mount["name"]]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_service_autoscaler_and_budget_select_the_deployment():
    deploy = one("Deployment")
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert deploy["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = one("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert all(p["targetPort"] in ports for p in service["spec"]["ports"])
    assert ports["http"] == int(flag(serve_args(), "--port"))
    target = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deploy["metadata"]["name"])
    budget = one("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_the_manifest_arguments_serve_the_probes_and_metrics(tmp_path):
    """The Deployment's own arguments (the model, host and ports swapped for
    this machine's) start a server whose probe and scrape paths answer where
    the manifest points."""
    c = container()
    args = serve_args()
    port, probe = free_port(), free_port()
    swap = {"--model": f"minilm={DEFAULT_MODEL}", "--host": "127.0.0.1", "--port": str(port),
            "--probe-port": str(probe)}
    local = [swap.get(args[i - 1], a) if i else a for i, a in enumerate(args)]
    probe_port = {p["name"]: p["containerPort"] for p in c["ports"]}["probes"]
    assert probe_port == int(flag(args, "--probe-port"))
    annotations = one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == probe_port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SINTER_"))}
    env["SINTER_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.Popen([str(SINTER), "serve", *local], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        live = c["livenessProbe"]["httpGet"]
        ready = c["readinessProbe"]["httpGet"]
        assert live["port"] == ready["port"] == "probes"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                status, _ = get(probe, ready["path"])
                if status == 200:
                    break
                # Loading: live, not ready.
                assert status == 503 and get(probe, live["path"])[0] == 200
            except OSError:
                pass
            assert time.monotonic() < deadline, "not ready in 60 s"
            time.sleep(0.02)
        assert get(probe, live["path"])[0] == 200
        status, text = get(probe, annotations["prometheus.io/path"])
        assert status == 200 and "te_request_count" in text
        # The largest request a client may send (a full batch of the model's
        # longest inputs) fits the queue: never a 413 for a valid request.
        info = json.loads(get(port, "/info")[1])
        assert info["max_client_batch_size"] * info["max_input_length"] <= int(
            flag(args, "--max-queue-tokens")), info
        # SIGTERM with a request in flight: readiness turns 503 while it
        # finishes, liveness stays 200 (the kubelet must not kill a draining pod).
        held = []
        # As many ~200-token inputs as the queue takes (--max-queue-tokens):
        # a second or so of compute on two cores.
        count = min(int(flag(args, "--max-queue-tokens")) // 210,
                    int(flag(args, "--max-client-batch-size") or 2048))
        body = json.dumps({"inputs": ["word " * 200] * count}).encode()
        hold = threading.Thread(target=lambda: held.append(urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}/embed", data=body,
                                   headers={"Content-Type": "application/json"}),
            timeout=60).status))
        hold.start()
        deadline = time.monotonic() + 10
        while "sinter_queue_requests{model=\"minilm\"} 1" not in get(probe, "/metrics")[1]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while get(probe, ready["path"])[0] != 503:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert not held  # still in flight
        assert get(probe, live["path"])[0] == 200
        hold.join(timeout=60)
        assert held == [200]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        proc.stderr.close()


# ---------------------------------------------------------------- Containerfile

def containerfile_instructions():
    """(INSTRUCTION, arguments) of the Containerfile, continuations joined."""
    text = CONTAINERFILE.read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages():
    """The instructions of each stage (split at FROM)."""
    out = []
    for ins in containerfile_instructions():
        if ins[0] == "FROM":
            out.append([])
        out[-1].append(ins)
    return out


def apt_installs(instructions):
    """The package names `apt-get install` is given in RUN instructions."""
    names = []
    for word, rest in instructions:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            tokens = shlex.split(command)
            if tokens[:2] == ["apt-get", "install"]:
                names += [t for t in tokens[2:] if not t.startswith("-")]
    return names


def setup_apt_packages():
    text = re.sub(r"#[^\n]*", "", SETUP.read_text())  # comments, inside the list too
    m = re.search(r"APT_PACKAGES=\(([^)]*)\)", text)
    return set(m[1].split())


def test_containerfile_copies_files_that_exist():
    copies = [rest for word, rest in containerfile_instructions() if word == "COPY"]
    local = [c for c in copies if not c.startswith("--from")]
    assert local
    for c in local:
        *sources, _ = shlex.split(c)
        for s in sources:
            assert (ROOT / s).exists(), f"Containerfile: COPY {s}: no such file in the repository"
    # What CMakeLists.txt names is copied (its globs may find nothing: no unit
    # test is copied, so their folder and fixtures are not needed; the Python
    # extension is off).
    copied = [shlex.split(c)[0].rstrip("/") for c in local]
    cmake = (ROOT / "CMakeLists.txt").read_text()
    for path in set(re.findall(r"\$\{CMAKE_SOURCE_DIR\}/([^\s)\"]+)", cmake)):
        path = path.split("${")[0].rstrip("/")
        if "*" in path or path in ("tests/unit", "tests/fixtures", "python/sinter/_sinter.c"):
            continue
        assert any(path == c or path.startswith(c + "/") for c in copied), \
            f"CMakeLists.txt reads {path}, which the Containerfile does not copy"


def test_containerfile_build_stage_installs_setup_packages():
    build, runtime = stages()
    setup = setup_apt_packages()
    installed = set(apt_installs(build))
    assert installed <= setup, installed - setup
    # Every library the build links, as setup.sh installs it.
    libraries = {p for p in setup if p.startswith("lib") and p.endswith("-dev")
                 and not p.startswith("libclang")}
    assert libraries <= installed, libraries - installed
    # The runtime stage takes no -dev package: the libraries the binary links.
    runtime_installs = apt_installs(runtime)
    assert not [p for p in runtime_installs if p.endswith("-dev")]
    assert "$(cat /tmp/runtime-packages)" in " ".join(i[1] for i in runtime)


def test_containerfile_runs_the_manifest_model_as_non_root():
    build, runtime = stages()
    users = [rest for word, rest in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    security = one("Deployment")["spec"]["template"]["spec"]["securityContext"]
    assert users[-1] == f"{security['runAsUser']}:{security['runAsGroup']}"
    model = flag(serve_args(), "--model").split("=", 1)[1]
    text = " ".join(rest for _, rest in runtime)
    assert f"/src/.cache/models/all-MiniLM-L6-v2 {model}" in text
    assert "--host\", \"0.0.0.0\"" in text
    assert "scripts/fetch_model.sh" in " ".join(rest for _, rest in build)


def test_runtime_packages_of_the_built_binary():
    """The script the image's runtime stage installs from, on this Debian."""
    proc = subprocess.run(["bash", str(ROOT / "deploy" / "container" / "runtime-packages.sh"),
                           str(SINTER)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    packages = proc.stdout.split()
    assert packages == sorted(set(packages))
    for want in ("libc6", "libmicrohttpd12", "libcurl4", "libgomp1"):
        assert want in packages, packages
    assert not [p for p in packages if p.endswith("-dev")], packages
