"""How many threads sleeptime's numeric libraries may use.

On a small shared machine, BLAS, OpenMP (scikit-learn) and torch each start one thread per core
by default; with another job running they thrash (measured on 2 cores: a warm quickstart took
7:40 and 356 s of CPU beside a competing process, against 18 s and 29 s alone). The default is
therefore the cores that are free when a command starts (the core count less the cores busy
over a fifth of a second, at least 1; a load average lags by a minute); ``--threads N`` or ``SLEEPTIME_THREADS=N`` sets it. Explicit
``OMP_NUM_THREADS`` and friends are respected.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: Environment variables the numeric libraries read when they load.
LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip


def _busy_cores(interval_s: float = 0.2) -> float | None:
    """Cores busy right now, from two readings of ``/proc/stat`` (Linux); None elsewhere."""
    import time

    def read() -> tuple[int, int]:
        with Path("/proc/stat").open(encoding="ascii") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values), idle

    try:
        total0, idle0 = read()
        time.sleep(interval_s)
        total1, idle1 = read()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / (total1 - total0))


def free_cores() -> int:
    """Cores not busy with other work right now (at least 1): the core count less the cores
    busy over a fifth of a second (Linux), else less the 1-minute load average."""
    cores = os.cpu_count() or 1
    busy = _busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except OSError:  # not available on this platform
            return cores
    return max(1, min(cores, cores - math.floor(busy + 0.5)))


def threads() -> int:
    """The thread count to use: ``SLEEPTIME_THREADS`` where set, else :func:`free_cores`."""
    value = os.environ.get("SLEEPTIME_THREADS", "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            from sleeptime._errors import SleeptimeError

            raise SleeptimeError(f"SLEEPTIME_THREADS must be a positive integer, got {value!r}")
        return n
    return free_cores()


def limit_threads(n: int | None = None) -> int:
    """Use ``n`` threads (default :func:`threads`): set ``SLEEPTIME_THREADS`` and every library
    variable the user has not set, and limit the pools of libraries already loaded. Call it
    before numpy, scikit-learn or torch do real work. Returns the count."""
    if n is not None and n < 1:
        from sleeptime._errors import SleeptimeError

        raise SleeptimeError(f"--threads must be at least 1, got {n}")
    count = threads() if n is None else n
    os.environ["SLEEPTIME_THREADS"] = str(count)
    for name in LIBRARY_VARIABLES:
        os.environ.setdefault(name, str(count))
    import sys

    if "threadpoolctl" in sys.modules or "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            threadpool_limits(limits=count)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(count)
    return count
