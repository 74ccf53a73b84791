"""Parts the test suite requires (the dev extra installs them): missing, a test skips here and
fails under CI (``$CI`` set), as the shared data, the local server and PostgreSQL do."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

#: How to install LiteLLM, which the LiteLLM hook's tests and the litellm endpoints need.
LITELLM = "pip install -e '.[dev]' (or pip install litellm)"


def require_module(name: str, install: str) -> ModuleType:
    """Import ``name``; where it is missing, fail under CI and skip elsewhere (also at module
    level), saying what to ``install``."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        message = f"{name} is not installed ({exc}): {install}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
