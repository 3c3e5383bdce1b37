"""Shared set-up of the Python package's tests.

The helpers these tests share with the end-to-end suite (paths, fixture
folders, model makers) live in tests/e2e/conftest.py; it is loaded here under
a name of its own and its helpers re-exported, so that `from conftest import
...` in this folder finds them here."""

import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "sinter_e2e_conftest", Path(__file__).resolve().parents[1] / "e2e" / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)

DEFAULT_MODEL = _e2e.DEFAULT_MODEL
MODELS = _e2e.MODELS
SINTER = _e2e.SINTER
classifier_with_tokenizer = _e2e.classifier_with_tokenizer
cli_logits = _e2e.cli_logits
one_logit_cross_encoder = _e2e.one_logit_cross_encoder


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Models opened without an explicit cache (torch.compile, Ray, TorchServe
    workers, which inherit the environment) go through the default compile
    cache: keep the suite's entries out of the user's ~/.cache/sinter."""
    os.environ["SINTER_CACHE_DIR"] = str(tmp_path_factory.mktemp("sinter-cache"))
    os.environ.pop("SINTER_CACHE_URL", None)
    yield
