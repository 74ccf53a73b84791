"""The project's exceptions: every error a user can cause is one of these."""

from __future__ import annotations

from pathlib import Path

# the root exception lives in the runtime, which a router may copy out alone
from sleeptime.runtime import SleeptimeError as SleeptimeError


class WorkloadError(SleeptimeError, ValueError):
    """A workload file or workload specification cannot be used."""


class MalformedRecordError(WorkloadError):
    """A line of a workload file is not valid JSON or CSV, or a value has the wrong type."""


class MissingFieldError(WorkloadError):
    """A record lacks a field that its format requires."""


class EmptyWorkloadError(WorkloadError):
    """A workload file holds no records."""


class DuplicateIdError(WorkloadError):
    """Two contexts, or two queries of one context, share an id."""


class UnknownFormatError(WorkloadError):
    """The format of a workload file is neither given nor recognisable from its fields."""


def read_text(path: str | Path, error: type[SleeptimeError], missing: str = "no such file") -> str:
    """The UTF-8 text of the file at ``path``; an ``error`` naming the file when it is missing
    (``missing`` says so, and how to fix it) or cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{p}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{p}: cannot read it: {exc}") from None
