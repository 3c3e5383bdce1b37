"""_sinter.Program.run and .tokenize read a list of str without the GIL: another
thread changing that list meanwhile (replacing its strings, which frees them)
must not crash the process nor change what the call computes (issue 18)."""
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import sinter

MODEL = Path(__file__).resolve().parents[2] / ".cache/models/all-MiniLM-L6-v2"
N = 32


def texts(n, tag):
    """n fresh str objects (built at run time, so only the list holds them),
    long enough to live in malloc's blocks rather than Python's small-object
    pools: a block a freed string leaves is soon another string of this size."""
    return ["".join([tag, " sentence number ", str(i), " about ", "cats " * (i % 7),
                     "x" * (600 + i % 50)]) for i in range(n)]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    if not MODEL.is_dir():
        pytest.skip("the default model is not downloaded")
    return sinter.Model(MODEL, cache=tmp_path_factory.mktemp("cache"))


def replace_strings(shared, k):
    shared[:] = texts(N, "gone")
    for i in range(N):
        shared[i] = texts(1, f"gone{k % 10}")[0]


def while_mutated(call, shared=None, mutate_once=replace_strings):
    """call(shared) while another thread keeps changing `shared` (by default,
    replacing its strings). A long switch interval keeps the GIL with this
    thread until the call releases it, so the other thread starts changing the
    list only then, after the call has read it."""
    shared = texts(N, "kept") if shared is None else shared
    go, stop, rounds = threading.Event(), threading.Event(), []

    def mutate():
        go.wait()
        k = 0
        while not stop.is_set():
            k += 1
            mutate_once(shared, k)
            rounds.append(k)

    worker = threading.Thread(target=mutate)
    worker.start()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.5)
    try:
        go.set()
        return call(shared), rounds
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        worker.join()


def test_run_and_tokenize_read_the_strings_they_were_given(minilm):
    want = minilm.encode(texts(N, "kept"), batch_size=8)
    want_ids = [r[0] for r in minilm._p.tokenize(texts(N, "kept"))]
    for _ in range(2):
        (data, width, _), rounds = while_mutated(lambda s: minilm._p.run(texts=s, batch_size=8))
        assert rounds  # the list changed while the call ran
        got = np.frombuffer(data, dtype=np.float32).reshape(-1, width)
        assert np.array_equal(got, want)
        rows, _ = while_mutated(minilm._p.tokenize)
        assert [r[0] for r in rows] == want_ids


def test_run_reads_the_token_ids_it_was_given(minilm):
    """Token-id arrays are copied too: another thread writing into them (and
    emptying the list) while the run computes changes nothing."""
    original = [np.asarray(r[0], dtype=np.int32) for r in minilm._p.tokenize(texts(N, "kept"))]
    want = minilm.encode([a.copy() for a in original], batch_size=8)
    for _ in range(2):
        arrays = [a.copy() for a in original]

        def overwrite(shared, k):
            for a in arrays:
                a[1:-1] = 1000 + k % 50  # other valid ids, between [CLS] and [SEP]
            shared.clear()

        (data, width, _), rounds = while_mutated(lambda s: minilm._p.run(ids=s, batch_size=8),
                                                 shared=list(arrays), mutate_once=overwrite)
        assert rounds
        assert np.array_equal(np.frombuffer(data, dtype=np.float32).reshape(-1, width), want)
