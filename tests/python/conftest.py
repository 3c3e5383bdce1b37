"""Shared set-up of the Python package's tests."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Models opened without an explicit cache (torch.compile, Ray, TorchServe
    workers, which inherit the environment) go through the default compile
    cache: keep the suite's entries out of the user's ~/.cache/sinter."""
    os.environ["SINTER_CACHE_DIR"] = str(tmp_path_factory.mktemp("sinter-cache"))
    os.environ.pop("SINTER_CACHE_URL", None)
    yield
