"""Write files so that a reader never sees half of one: a temporary file, then a rename.

The temporary file is created private (``mkstemp`` makes it 0600); before the rename it gets
the mode an ordinary ``open(path, "w")`` would give it (0666 less the process's umask), so that
a teammate or a web server can read what sleeptime writes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    # the only portable way to read the umask is to set it; the lock keeps two writers of this
    # module from seeing each other's temporary value
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` for writers that take a file name (``savefig``,
    ``pyarrow``); when the block exits it is given the usual mode and renamed to ``path``.

    On an exception inside the block the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        Path(tmp).chmod(0o666 & ~_umask())
        Path(tmp).replace(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[str]]:
    """Open ``path`` for text writing; the file appears, complete, only when the block exits.

    On an exception inside the block the temporary file is removed and ``path`` is untouched.
    """
    with atomic_path(path) as tmp, tmp.open(mode, encoding="utf-8", newline="") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path) as handle:
        handle.write(text)
