"""Decision logs larger than memory: split by context with DuckDB, then read part by part.

A busy router logs millions of decisions a day; read whole, a log takes about 1 KiB of memory
per decision. :func:`split_logs` has DuckDB (out of core: it spills to a temporary folder
beyond ``memory_limit``) check what needs the whole log (a request id logged twice, an
outcome that arrives twice) and write the log and its outcomes in parts of about
``part_rows`` decisions, each part holding whole contexts (a hash of the context id), so a
context's sleep decision stays with its queries. :func:`evaluate_log_parts` then reads,
checks and sums one part at a time as a small log is read (:func:`read_logs`): the outcome
models of the direct method are fitted once, on the first part (a random share of the
contexts), and every part adds its per-context sums; the intervals resample the contexts of
all parts. Memory is that of one part and the models, whatever the log's length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sleeptime.policy._logs import (
    _PARTS,
    CHUNK,
    DM_ROWS,
    LogEvaluation,
    _evaluation,
    _Part,
    _read,
    needed_features,
    read_logs,
)
from sleeptime.policy._offpolicy import ESTIMATORS, OffPolicyError
from sleeptime.runtime import RuntimePolicy


def log_rows(path: str | Path) -> int | None:
    """Decisions in a Parquet log (from its metadata; a folder: every file), None for JSONL."""
    import pyarrow.dataset as ds

    p = Path(path)
    if not (p.is_dir() or p.suffix == ".parquet") or not p.exists():
        return None
    return int(ds.dataset(p, format="parquet").count_rows())


def _source(path: Path, outcomes: bool) -> str:
    """A DuckDB table expression of a Parquet file or folder, or (outcomes) a JSONL file's
    outcome fields."""
    if path.is_dir():
        return f"read_parquet('{path.as_posix()}/**/*.parquet')"
    if path.suffix == ".parquet":
        return f"read_parquet('{path.as_posix()}')"
    if not outcomes:
        raise OffPolicyError(f"{path}: a log split in parts is Parquet (write it with DecisionLog(..., format='parquet'))")  # fmt: skip
    cols = {"request_id": "VARCHAR", "reward": "DOUBLE", "correct": "DOUBLE", "usd": "DOUBLE", **{k: "DOUBLE" for k in _PARTS}}  # fmt: skip
    parts = ", ".join(_PARTS)  # a trace's records: correct is the reward
    return f"(SELECT request_id, coalesce(reward, correct) AS reward, usd, {parts} FROM read_json('{path.as_posix()}', format='newline_delimited', columns={cols!r}))"  # fmt: skip


def split_logs(decisions: str | Path, outcomes: str | Path, folder: str | Path, *, part_rows: int = 1_000_000,
               memory_limit: str = "2GB", threads: int | None = None) -> list[tuple[Path, Path]]:  # fmt: skip
    """Write ``decisions`` and ``outcomes`` into ``folder`` as parts of whole contexts (about
    ``part_rows`` decisions each) and return each part's (decisions, outcomes) folders. A
    request id logged twice, or an outcome that arrives twice, is an :class:`OffPolicyError`
    naming the file and the first ids. DuckDB runs in a child process (``threads``: its
    threads, default every core): the memory it holds is returned when the child ends, and its
    idle workers cannot starve the OpenMP threads of the outcome models fitted next (in one
    process they made those fits about 100 times slower on 2 cores: 487 s against 4 s)."""
    import json
    import subprocess
    import sys

    args = [str(decisions), str(outcomes), str(folder), part_rows, memory_limit, threads]
    done = subprocess.run([sys.executable, "-m", "sleeptime.policy._log_parts", json.dumps(args)], capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode == 2:  # the child's OffPolicyError, its message on the last line
        raise OffPolicyError(done.stderr.strip().splitlines()[-1])
    if done.returncode != 0:
        raise OffPolicyError(f"{decisions}: splitting the log failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")  # fmt: skip
    return [(Path(d), Path(o)) for d, o in json.loads(done.stdout)]


def _split(decisions: str, outcomes: str, folder: str, part_rows: int, memory_limit: str, threads: int | None) -> list[tuple[Path, Path]]:  # fmt: skip
    """:func:`split_logs` in the child process."""
    import duckdb

    dpath, opath, out = Path(decisions), Path(outcomes), Path(folder)
    for p in (dpath, opath):
        if not p.exists():
            raise OffPolicyError(f"{p}: no such file")
    n = log_rows(dpath)
    if n is None:
        raise OffPolicyError(f"{dpath}: a log split in parts is Parquet (write it with DecisionLog(..., format='parquet'))")  # fmt: skip
    k = max(1, -(-n // part_rows))
    con = duckdb.connect()
    try:
        spill = out / "spill"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{spill.as_posix()}'")
        con.execute("SET preserve_insertion_order = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        d, o = _source(dpath, False), _source(opath, True)
        for path, src, what in ((dpath, d, "request ids are logged more than once"), (opath, o, "outcomes arrive more than once")):  # fmt: skip
            twice = con.execute(f"SELECT request_id FROM {src} WHERE request_id IS NOT NULL GROUP BY request_id HAVING count(*) > 1 LIMIT 5").fetchall()  # fmt: skip
            if twice:
                ids = ", ".join(str(r[0]) for r in twice)
                raise OffPolicyError(f"{path}: {what} (e.g. {ids}); each needs its own")
        bucket = f"hash(context_id) % {k}"
        con.execute(f"COPY (SELECT *, {bucket} AS part FROM {d}) TO '{(out / 'decisions').as_posix()}' (FORMAT parquet, PARTITION_BY (part), OVERWRITE_OR_IGNORE)")  # fmt: skip
        con.execute(
            f"COPY (SELECT o.*, {bucket} AS part FROM {o} o JOIN (SELECT request_id, context_id FROM {d}) USING (request_id)) "
            f"TO '{(out / 'outcomes').as_posix()}' (FORMAT parquet, PARTITION_BY (part), OVERWRITE_OR_IGNORE)"
        )  # fmt: skip
    except duckdb.Error as e:
        raise OffPolicyError(f"{dpath}: {e}") from None
    finally:
        con.close()
    parts = []
    for i in range(k):
        dec, outc = out / "decisions" / f"part={i}", out / "outcomes" / f"part={i}"
        if dec.exists():
            parts.append((dec, outc))
    return parts


def evaluate_log_parts(parts: Sequence[tuple[Path, Path]], candidate: RuntimePolicy, *, name: str = "candidate", source: str = "",
                       missing: str = "error", n_boot: int = 500, seed: int = 0, estimators: Sequence[str] = ESTIMATORS,
                       dm_rows: int = DM_ROWS, chunk: int = CHUNK) -> LogEvaluation:  # fmt: skip
    """:func:`evaluate_logs` over a log split by :func:`split_logs`, one part in memory at a
    time (see the module). A part whose decisions have no outcome file (none arrived) is read
    as such: an error, or with ``missing="drop"`` all dropped."""
    import pyarrow.compute as pc

    features = needed_features(candidate)
    models: dict[tuple[int, int], Any] | None = None
    total: dict[str, list[Any]] = {e: [] for e in estimators}
    w_sum = w_sq = matched = 0.0
    n = dropped = 0
    for i, (dec, outc) in enumerate(parts):
        if not outc.exists():
            if missing != "drop":
                raise OffPolicyError(f"{source or dec}: no outcome arrived for the decisions of part {i} ({dec}); wait for them, or pass missing='drop' (--drop-missing)")  # fmt: skip
            kinds = _read(dec, only=("kind",)).column("kind")
            dropped += int(pc.sum(pc.not_equal(kinds, "sleep")).as_py() or 0)
            continue
        log = read_logs(dec, outc, missing=missing, features=features, ordered=True)
        part = _Part(log, candidate, seed + i)
        if models is None:
            models = part.fit(estimators, dm_rows, seed)
        sums, ws, wq, m = part.sums(models, estimators, chunk)
        for e in estimators:
            total[e].append(sums[e])
        w_sum, w_sq, matched, n, dropped = (
            w_sum + ws,
            w_sq + wq,
            matched + m,
            n + log.n,
            dropped + log.dropped,
        )
    if n == 0:
        raise OffPolicyError(f"{source}: no answered query with an outcome in any part")
    joined = {e: np.concatenate(v, axis=1) for e, v in total.items()}
    return _evaluation(name, source, joined, w_sum, w_sq, n, dropped, matched, n_boot, seed)


def evaluate_large_logs(decisions: str | Path, outcomes: str | Path, candidate: RuntimePolicy, *, name: str = "candidate",
                        part_rows: int = 1_000_000, memory_limit: str = "2GB", workdir: str | Path | None = None,
                        **kwargs: Any) -> LogEvaluation:  # fmt: skip
    """Split the log (:func:`split_logs`, into ``workdir`` or a temporary folder removed after)
    and evaluate it part by part (:func:`evaluate_log_parts`)."""
    with tempfile.TemporaryDirectory(dir=workdir, prefix="sleeptime-log-parts-") as tmp:
        parts = split_logs(decisions, outcomes, tmp, part_rows=part_rows, memory_limit=memory_limit)
        return evaluate_log_parts(parts, candidate, name=name, source=str(decisions), **kwargs)


if __name__ == "__main__":  # split_logs's child: the arguments as JSON, the parts back as JSON
    import json
    import sys

    try:
        print(json.dumps([[str(d), str(o)] for d, o in _split(*json.loads(sys.argv[1]))]))
    except OffPolicyError as e:
        print(str(e), file=sys.stderr)
        sys.exit(2)
