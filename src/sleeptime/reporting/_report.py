"""A self-contained HTML report per run (figures embedded), with the same figures as PNG."""

from __future__ import annotations

import base64
import html
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sleeptime import __version__
from sleeptime._atomic import atomic_write_text


@dataclass
class Figure:
    """A figure of a report: a PNG file (embedded in the HTML from the report's folder, by
    its file name), its title and caption; ``wide`` spans the full width of the grid."""

    path: Path
    title: str
    caption: str = ""
    wide: bool = False


@dataclass
class Table:
    """A table of a report: a title, column headers, rows of cells (floats to four
    significant digits, the rest as escaped text), a caption below it; the rows at the indexes
    in ``highlight`` are shown in bold."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""
    highlight: Sequence[int] = ()


@dataclass
class Report:
    """What a run shows: a headline, figures, tables and how to reproduce it."""

    title: str
    headline: str
    simulated: bool = True
    intro: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    spec_text: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def versions() -> dict[str, str]:
    """Versions of the packages a result depends on."""
    out = {"sleeptime": __version__, "python": platform.python_version()}
    for name in ("numpy", "scikit-learn", "scipy", "torch", "transformers", "optuna", "mlflow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1.2rem;color:#1f2328;line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.badge{display:inline-block;background:#fff4e5;color:#8a4b00;border:1px solid #f0c36d;border-radius:4px;padding:.05rem .5rem;font-size:.85rem;margin-left:.5rem;vertical-align:middle}
.headline{font-size:1.12rem;background:#f6f8fa;border-left:4px solid #0969da;padding:.8rem 1rem;margin:1rem 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1.2rem}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:.6rem;background:#fff}
figure img{width:100%;height:auto}figcaption{font-size:.9rem;color:#57606a;margin-top:.4rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}td+td{white-space:nowrap}figure.wide{grid-column:1/-1}th{background:#f6f8fa}tr.hl td{background:#ddf4ff;font-weight:600}
.caption{font-size:.9rem;color:#57606a}pre{background:#f6f8fa;padding:.8rem;border-radius:6px;overflow-x:auto;font-size:.85rem}
ul.notes li{margin:.3rem 0}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return html.escape(str(value))


def render_html(report: Report, folder: Path) -> str:
    """The report as one HTML document; images are read from ``folder`` and embedded."""
    e = html.escape
    badge = f'<span class="badge">{"simulated" if report.simulated else "measured"}</span>'
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{e(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}{badge}</h1>",
        f"<p class='caption'>sleeptime {e(__version__)} · {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p>",
        f"<div class='headline'>{e(report.headline)}</div>",
    ]
    if report.intro:
        parts.append(f"<p>{e(report.intro)}</p>")
    if report.figures:
        parts.append("<h2>Figures</h2><div class='grid'>")
        for fig in report.figures:
            data = base64.b64encode((folder / fig.path.name).read_bytes()).decode()
            cls = " class='wide'" if fig.wide else ""
            parts.append(
                f"<figure{cls}><img alt='{e(fig.title)}' src='data:image/png;base64,{data}'>"
                f"<figcaption><b>{e(fig.title)}.</b> {e(fig.caption)}</figcaption></figure>"
            )
        parts.append("</div>")
    for table in report.tables:
        parts.append(f"<h2>{e(table.title)}</h2><table><thead><tr>")
        parts.extend(f"<th>{e(c)}</th>" for c in table.columns)
        parts.append("</tr></thead><tbody>")
        for i, row in enumerate(table.rows):
            cls = " class='hl'" if i in table.highlight else ""
            parts.append(f"<tr{cls}>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>")
        parts.append("</tbody></table>")
        if table.caption:
            parts.append(f"<p class='caption'>{e(table.caption)}</p>")
    if report.notes:
        parts.append("<h2>How to read this</h2><ul class='notes'>")
        parts.extend(f"<li>{e(n)}</li>" for n in report.notes)
        parts.append("</ul>")
    parts.append("<h2>Reproduce</h2><pre>" + e("\n".join(report.commands)) + "</pre>")
    parts.append(
        "<table><tbody>"
        + "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in versions().items())
        + "</tbody></table>"
    )
    if report.spec_text:
        parts.append("<h2>The experiment spec</h2><pre>" + e(report.spec_text) + "</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(report: Report, folder: Path) -> Path:
    """Write ``index.html`` (self-contained) beside the figures' PNGs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    atomic_write_text(path, render_html(report, folder))
    return path


def command_line() -> str:
    """How this process was started, as a shell line."""
    import shlex

    argv = list(sys.argv)
    if argv and argv[0].endswith("sleeptime"):
        argv[0] = "sleeptime"
    return " ".join(shlex.quote(a) for a in argv)


def table_from_rows(
    title: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], **kwargs: Any
) -> Table:
    """A :class:`Table` from dict rows: ``columns`` pairs a key with its header."""
    return Table(title, [h for _, h in columns], [[r.get(k, "") for k, _ in columns] for r in rows], **kwargs)  # fmt: skip
