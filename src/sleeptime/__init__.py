"""sleeptime: learn how to split LLM compute between sleep time and test time.

The parts live in subpackages: ``workloads``, ``estimators``, ``simulators``, ``policy``,
``runtime`` (the router side, standard library only), ``integrations`` and ``experiments`` (the
jobs the ``sleeptime`` command runs). Importing ``sleeptime`` is light: heavy backends are
imported by the functions that need them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sleeptime._errors import (
    DuplicateIdError,
    EmptyWorkloadError,
    MalformedRecordError,
    MissingFieldError,
    SleeptimeError,
    UnknownFormatError,
    WorkloadError,
)

try:
    __version__ = version("sleeptime")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "DuplicateIdError",
    "EmptyWorkloadError",
    "MalformedRecordError",
    "MissingFieldError",
    "SleeptimeError",
    "UnknownFormatError",
    "WorkloadError",
    "__version__",
]
