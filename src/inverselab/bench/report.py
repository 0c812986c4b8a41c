"""Reports of a benchmark: ``report.md`` (a table per preset) and a self-contained ``index.html`` (tables,
image grids, quality-vs-time plots; every image inlined, so the file opens from disk with no server).

Both are written from ``results.json`` and the pictures under ``images/``, so they can be rebuilt at any time
(``write_report(out)``) and after a resumed run.
"""

from __future__ import annotations

import base64
import html
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_atomic

__all__ = [
    "overview",
    "Stat",
    "MethodSummary",
    "summarize",
    "markdown_report",
    "html_report",
    "write_report",
    "write_study_report",
]

#: (record key, column title, higher is better, decimals), in table order.
COLUMNS = (
    ("psnr", "PSNR (dB)", True, 2),
    ("ssim", "SSIM", True, 4),
    ("nmse_db", "NMSE (dB)", False, 2),
    ("seconds", "time (s)", False, 2),
)


@dataclass
class Stat:
    """Mean and (sample) standard deviation of a metric over the successful runs."""

    mean: float
    std: float
    n: int

    def format(self, decimals: int) -> str:
        if self.n > 1:
            return f"{self.mean:.{decimals}f} ± {self.std:.{decimals}f}"
        return f"{self.mean:.{decimals}f}"


@dataclass
class MethodSummary:
    """One row of a preset's table."""

    method: str
    stats: dict[str, Stat]
    ok: int
    failed: list[dict[str, Any]] = field(default_factory=list)


def _stat(values: list[float]) -> Stat | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stat(statistics.fmean(values), std, len(values))


def _headline(preset: str) -> str:
    from ..presets import PRESETS

    p = PRESETS.get(preset)
    return "nmse_db" if p is not None and p.metric == "nmse_db" else "psnr"


def summarize(records: list[dict[str, Any]]) -> dict[str, list[MethodSummary]]:
    """Per preset (in order of appearance), one :class:`MethodSummary` per method, best headline metric first
    (methods with no successful run last)."""
    by_preset: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        by_preset.setdefault(r["preset"], {}).setdefault(r["method"], []).append(r)
    out: dict[str, list[MethodSummary]] = {}
    for preset, methods in by_preset.items():
        rows = []
        for method, recs in methods.items():
            ok = [r for r in recs if r["status"] == "ok"]
            stats = {}
            for key, *_ in COLUMNS:
                s = _stat([r.get(key) for r in ok])
                if s is not None:
                    stats[key] = s
            rows.append(MethodSummary(method, stats, len(ok), [r for r in recs if r["status"] != "ok"]))
        head, sign = _headline(preset), (1 if _headline(preset) == "psnr" else -1)
        rows.sort(key=lambda m: -sign * m.stats[head].mean if head in m.stats else math.inf)
        out[preset] = rows
    return out


def _columns(rows: list[MethodSummary]):
    return [c for c in COLUMNS if any(c[0] in m.stats for m in rows)]


def _best(rows: list[MethodSummary], key: str, higher: bool) -> float | None:
    values = [m.stats[key].mean for m in rows if key in m.stats]
    if not values:
        return None
    return max(values) if higher else min(values)


def _cell(m: MethodSummary, key: str, higher: bool, decimals: int, best: float | None) -> tuple[str, bool]:
    if key not in m.stats:
        return "–", False
    s = m.stats[key]
    is_best = best is not None and key != "seconds" and round(s.mean, decimals) == round(best, decimals)
    return s.format(decimals), is_best


def _preset_line(preset: str) -> str:
    from ..presets import PRESETS

    p = PRESETS.get(preset)
    return p.description if p is not None else ""


def _failure_lines(rows: list[MethodSummary]) -> list[str]:
    lines = []
    for m in rows:
        for r in m.failed:
            lines.append(f"{m.method} on {r['image']} (seed {r['seed']}): {r.get('error') or 'failed'}")
    return lines


def _header_facts(meta: dict[str, Any]) -> list[tuple[str, str]]:
    machine = meta.get("machine", {})
    facts = [
        ("suite", f"{meta.get('suite', '?')}: {meta.get('suite_description', '')}".rstrip(": ")),
        ("inverselab", f"{meta.get('version', '?')}, commit {meta.get('git_commit') or 'unknown'}"),
        ("date", str(meta.get("updated") or meta.get("created", "?"))),
        (
            "machine",
            f"{machine.get('cpu_count', '?')} CPUs, torch {machine.get('torch', '?')} "
            f"({machine.get('torch_threads', '?')} threads), Python {machine.get('python', '?')}, "
            f"{meta.get('jobs', 1)} job(s)",
        ),
        (
            "seeds",
            f"base seed {meta.get('seed', 0)}"
            + (
                f"; time budget {meta['time_budget']:g} s per reconstruction"
                if meta.get("time_budget")
                else ""
            ),
        ),
        ("test images", meta.get("test_images", "")),
    ]
    if meta.get("command"):
        facts.append(("command", meta["command"]))
    return facts


#: Direct methods, shown last in the overview (the baselines every other method must beat).
_DIRECT = ("adjoint", "zero-filled", "fbp")


def overview(records: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, str, list[str | None]]]]:
    """The presets x methods matrix of mean headline metrics.

    Returns:
        ``(methods, rows)``: column names, and per preset ``(preset, metric label, cells)`` where each cell is
        the formatted mean (``None`` where the method was not run), the best of the row wrapped in ``**``.
    """
    summary = summarize(records)
    methods: list[str] = []
    for rows in summary.values():
        methods += [m.method for m in rows if m.method not in methods and m.method not in _DIRECT]
    methods += [d for d in _DIRECT if any(m.method == d for rows in summary.values() for m in rows)]
    table = []
    for preset, rows in summary.items():
        head = _headline(preset)
        by = {m.method: m for m in rows}
        best = _best(rows, head, head == "psnr")
        cells: list[str | None] = []
        for name in methods:
            m = by.get(name)
            if m is None:
                cells.append(None)
            elif head not in m.stats:
                cells.append("failed")
            else:
                text = f"{m.stats[head].mean:.2f}"
                cells.append(f"**{text}**" if best is not None and text == f"{best:.2f}" else text)
        table.append((preset, "NMSE dB" if head == "nmse_db" else "PSNR dB", cells))
    return methods, table


def _overview_markdown(records: list[dict[str, Any]]) -> list[str]:
    methods, table = overview(records)
    lines = ["| preset | metric | " + " | ".join(methods) + " |", "|---|---|" + "---:|" * len(methods)]
    for preset, label, cells in table:
        lines.append(
            f"| {preset} | {label} | " + " | ".join(c if c is not None else "" for c in cells) + " |"
        )
    return lines


# --- Markdown ----------------------------------------------------------------------------------------------
def markdown_report(results: dict[str, Any]) -> str:
    """The Markdown report: a header of facts, then a table per preset (mean ± std, best in bold)."""
    meta, records = results.get("meta", {}), results["records"]
    lines = [f"# inverselab bench: {meta.get('suite', 'custom')} suite", ""]
    lines += [f"- **{k}**: {v}" for k, v in _header_facts(meta) if v]
    lines.append("")
    lines.append(
        "Each cell is the mean ± standard deviation over test images and seeds of the successful runs; "
        "the best value of each metric is in bold. NMSE in dB is 10 log10(||x_hat - x||² / ||x||²)."
    )
    lines += [
        "",
        "## Overview",
        "",
        "Mean headline metric per preset and method (best of each row in bold).",
        "",
    ]
    lines += _overview_markdown(records)
    for preset, rows in summarize(records).items():
        lines += ["", f"## {preset}", "", _preset_line(preset), ""]
        cols = _columns(rows)
        lines.append("| method | " + " | ".join(c[1] for c in cols) + " | runs |")
        lines.append("|---|" + "---:|" * len(cols) + "---:|")
        bests = {c[0]: _best(rows, c[0], c[2]) for c in cols}
        for m in rows:
            cells = []
            for key, _, higher, dec in cols:
                text, bold = _cell(m, key, higher, dec, bests[key])
                cells.append(f"**{text}**" if bold else text)
            runs = f"{m.ok}" + (f" ({len(m.failed)} failed)" if m.failed else "")
            lines.append(f"| {m.method} | " + " | ".join(cells) + f" | {runs} |")
        failures = _failure_lines(rows)
        if failures:
            lines += ["", "Failed runs:", ""] + [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2330;
background:#fafbfc}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:8px 0 4px}
h2{font-size:20px;margin:38px 0 2px;padding-top:8px;border-top:1px solid #dde2ea}
.desc{color:#5a6475;margin:0 0 12px}.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;
font-size:13px;color:#3b4456;margin:12px 0}.facts dt{font-weight:600}.facts dd{margin:0}
nav{font-size:13px;margin:10px 0}nav a{margin-right:12px;color:#2557a7;text-decoration:none}
table.results{border-collapse:collapse;margin:10px 0 6px;font-size:14px;background:#fff}
table.results th,table.results td{padding:5px 12px;border-bottom:1px solid #e3e7ee;text-align:right}
table.results th:first-child,table.results td:first-child{text-align:left}
table.results thead th{background:#eef1f6;font-weight:600}td.best{font-weight:700;color:#0b5d1e}
.row{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}.plot img{width:430px;max-width:100%}
.grid{overflow-x:auto;margin:8px 0}.grid table{border-collapse:collapse}
.grid td{padding:3px;text-align:center;vertical-align:top;font-size:12px;color:#3b4456}
.grid img{width:150px;height:150px;object-fit:contain;image-rendering:pixelated;background:#000;display:block}
.grid img.vec{width:240px;height:auto;background:#fff}
.grid .lab{max-width:150px;overflow-wrap:anywhere}.fail{color:#a12020;font-size:13px}
.caption{font-size:13px;color:#4a5366;max-width:900px}
table.overview{font-size:13px}table.overview th,table.overview td{white-space:nowrap;padding:5px 8px}
.scroll{overflow-x:auto}
"""


def _data_uri(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _img(path: Path, alt: str, cls: str = "") -> str:
    uri = _data_uri(path)
    if uri is None:
        return f'<div class="fail">missing: {html.escape(path.name)}</div>'
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} alt="{html.escape(alt)}" src="{uri}">'


def _quality_time_png(preset: str, rows: list[MethodSummary]) -> bytes | None:
    """PNG bytes of the quality-vs-time scatter of one preset (``None`` with no successful run)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    head = _headline(preset)
    pts = [m for m in rows if head in m.stats and "seconds" in m.stats]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(5.4, 3.6), constrained_layout=True)
    for i, m in enumerate(pts):
        x = max(m.stats["seconds"].mean, 1e-4)
        y, err = m.stats[head].mean, m.stats[head].std
        ax.errorbar(
            x,
            y,
            yerr=err if m.stats[head].n > 1 else None,
            fmt="os^Dv<>ph*"[i % 10],
            color=f"C{i % 10}",
            capsize=3,
            markersize=6,
            label=m.method,
        )
    ax.set_xscale("log")
    ax.set_xlabel("time per reconstruction (s, log scale)")
    ax.set_ylabel("NMSE (dB, lower is better)" if head == "nmse_db" else "PSNR (dB)")
    ax.set_title(f"{preset}: quality vs time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    if head == "nmse_db":
        ax.invert_yaxis()  # better is up in both cases
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _html_table(rows: list[MethodSummary]) -> str:
    cols = _columns(rows)
    bests = {c[0]: _best(rows, c[0], c[2]) for c in cols}
    out = ['<table class="results"><thead><tr><th>method</th>']
    out += [f"<th>{html.escape(c[1])}</th>" for c in cols]
    out.append("<th>runs</th></tr></thead><tbody>")
    for m in rows:
        out.append(f"<tr><td>{html.escape(m.method)}</td>")
        for key, _, higher, dec in cols:
            text, bold = _cell(m, key, higher, dec, bests[key])
            out.append(f'<td class="best">{text}</td>' if bold else f"<td>{text}</td>")
        runs = f"{m.ok}" + (f" ({len(m.failed)} failed)" if m.failed else "")
        out.append(f"<td>{runs}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _grid(out: Path, preset: str, rows: list[MethodSummary], records: list[dict[str, Any]]) -> str:
    """Image grid: one block per test image (first seed): truth, measurement, each method and its error."""
    methods = [m.method for m in rows]
    recs = [r for r in records if r["preset"] == preset]
    problems: dict[tuple, dict[str, dict[str, Any]]] = {}
    first_seed: dict[str, int] = {}
    for r in recs:
        first_seed.setdefault(r["image"], r["seed"])
        if r["seed"] == first_seed[r["image"]]:
            problems.setdefault((r["image"], r["seed"], r["size"]), {})[r["method"]] = r
    head = _headline(preset)
    parts = ['<div class="grid"><table>']
    for (image, seed, size), by_method in problems.items():
        folder = out / "images" / preset / f"{image}-{size}px-seed{seed}"
        try:
            info = json.loads((folder / "problem.json").read_text())
        except (OSError, json.JSONDecodeError):
            info = {"kind": "image", "view": "measurement"}
        vec = info.get("kind") in ("vector", "signal")  # stem plots, no measurement picture
        cls = "vec" if vec else ""
        top = [
            f'<td>{_img(folder / "truth.png", "truth", cls)}<div class="lab">truth: {html.escape(image)}'
            f" (seed {seed})</div></td>"
        ]
        bottom = ["<td></td>"]
        if not vec:
            view = info.get("view") or "measurement"
            top.append(
                f'<td>{_img(folder / "measurement.png", view)}<div class="lab">{html.escape(view)}</div></td>'
            )
            bottom.append("<td></td>")
        for method in methods:
            r = by_method.get(method)
            if r is None:
                continue
            if r["status"] != "ok":
                top.append(
                    f'<td><div class="fail lab">{html.escape(method)}: failed<br>'
                    f"{html.escape(str(r.get('error', ''))[:120])}</div></td>"
                )
                bottom.append("<td></td>")
                continue
            value = r.get(head)
            score = "" if value is None else (f"{value:.2f} dB" if head == "psnr" else f"NMSE {value:.1f} dB")
            top.append(
                f'<td>{_img(folder / f"{method}.png", method, cls)}<div class="lab">'
                f"{html.escape(method)} {score}</div></td>"
            )
            if not vec:
                bottom.append(
                    f"<td>{_img(folder / f'{method}-error.png', f'{method} error')}"
                    f'<div class="lab">|error| {html.escape(method)}</div></td>'
                )
        parts.append("<tr>" + "".join(top) + "</tr>")
        if not vec:
            parts.append("<tr>" + "".join(bottom) + "</tr>")
    parts.append("</table></div>")
    return "".join(parts)


def _overview_html(records: list[dict[str, Any]]) -> str:
    methods, table = overview(records)
    out = ['<table class="overview results"><thead><tr><th>preset</th><th>metric</th>']
    out += [f"<th>{html.escape(m)}</th>" for m in methods]
    out.append("</tr></thead><tbody>")
    for preset, label, cells in table:
        out.append(f'<tr><td><a href="#{html.escape(preset)}">{html.escape(preset)}</a></td><td>{label}</td>')
        for c in cells:
            if c is not None and c.startswith("**"):
                out.append(f'<td class="best">{html.escape(c[2:-2])}</td>')
            else:
                out.append(f"<td>{html.escape(c or '')}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def html_report(results: dict[str, Any], out: str | Path) -> str:
    """The self-contained HTML report (pictures read from ``out/images`` and inlined)."""
    from .pictures import ERROR_SCALE

    out = Path(out)
    meta, records = results.get("meta", {}), results["records"]
    summary = summarize(records)
    title = f"inverselab bench: {meta.get('suite', 'custom')} suite"
    body = [f"<h1>{html.escape(title)}</h1>", '<dl class="facts">']
    body += [f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in _header_facts(meta) if v]
    body.append(
        "</dl><nav>"
        + "".join(f'<a href="#{html.escape(p)}">{html.escape(p)}</a>' for p in summary)
        + "</nav>"
    )
    body.append(
        '<p class="caption">Tables: mean ± standard deviation over test images and seeds of the successful '
        "runs; the best value of each metric is in bold. Plots: mean quality against mean time per "
        "reconstruction (log scale). Image grids: the first seed of each test image; error maps show "
        f"|x_hat − x| from 0 (black) to {ERROR_SCALE:g} × the data range (bright), large errors saturate.</p>"
    )
    body.append(
        '<h2>Overview</h2><p class="desc">Mean headline metric per preset and method (best of each row '
        "in bold); the preset names link to their sections.</p>"
    )
    body.append(f'<div class="scroll">{_overview_html(records)}</div>')
    for preset, rows in summary.items():
        body.append(f'<section id="{html.escape(preset)}"><h2>{html.escape(preset)}</h2>')
        body.append(f'<p class="desc">{html.escape(_preset_line(preset))}</p><div class="row">')
        body.append(_html_table(rows))
        png = _quality_time_png(preset, rows)
        if png is not None:
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            body.append(
                f'<div class="plot"><img alt="{html.escape(preset)} quality vs time" src="{uri}"></div>'
            )
        body.append("</div>")
        failures = _failure_lines(rows)
        if failures:
            body.append(
                '<div class="fail">Failed runs:<ul>'
                + "".join(f"<li>{html.escape(f)}</li>" for f in failures)
                + "</ul></div>"
            )
        body.append(_grid(out, preset, rows, records))
        body.append("</section>")
    return _page(title, "".join(body))


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def write_report(out: str | Path, results: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``out/report.md`` and ``out/index.html`` from ``results`` (read from ``out/results.json`` when
    omitted); returns their paths."""
    from .runner import load_results

    out = Path(out)
    results = load_results(out) if results is None else results
    md, page = out / "report.md", out / "index.html"
    write_atomic(md, markdown_report(results))
    write_atomic(page, html_report(results, out))
    return md, page


# --- studies -----------------------------------------------------------------------------------------------
def write_study_report(out: str | Path, result, meta: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``out/report.md`` and a self-contained ``out/index.html`` for a study: title, figures (inlined),
    caption, tables, and the facts of the run."""
    out = Path(out)
    meta = meta or {}
    facts = [(k, v) for k, v in _header_facts(meta) if v and k not in ("suite", "test images")]
    md = [f"# {result.title}", ""]
    md += [f"![{result.name}]({Path(f).name})" for f in result.figures]
    md += ["", f"*{result.caption}*", ""]
    md += [f"- **{k}**: {v}" for k, v in facts]
    for t in result.tables:
        md += ["", t]
    body = [f"<h1>{html.escape(result.title)}</h1>"]
    for f in result.figures:
        uri = _data_uri(Path(f))
        if uri is not None:
            body.append(
                f'<figure><img style="max-width:100%" alt="{html.escape(result.name)}" src="{uri}"></figure>'
            )
    body.append(f'<p class="caption">{html.escape(result.caption)}</p><dl class="facts">')
    body += [f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts]
    body.append("</dl>")
    for t in result.tables:
        body.append(_markdown_table_html(t))
    md_path, page = out / "report.md", out / "index.html"
    write_atomic(md_path, "\n".join(md) + "\n")
    write_atomic(page, _page(result.title, "".join(body)))
    return md_path, page


def _markdown_table_html(text: str) -> str:
    """A simple Markdown pipe table (with optional heading/caption lines before it) as HTML."""
    out, rows = [], []
    for line in text.strip().splitlines():
        line = line.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            rows.append(cells)
        elif line:
            out.append(f"<h3>{html.escape(line.lstrip('#').strip())}</h3>")
    if rows:
        out.append('<table class="results"><thead><tr>')
        out += [f"<th>{html.escape(c)}</th>" for c in rows[0]]
        out.append("</tr></thead><tbody>")
        for r in rows[1:]:
            out.append("<tr>")
            for c in r:
                bold = c.startswith("**") and c.endswith("**") and len(c) > 4
                text = html.escape(c[2:-2] if bold else c)
                out.append(f'<td class="best">{text}</td>' if bold else f"<td>{text}</td>")
            out.append("</tr>")
        out.append("</tbody></table>")
    return "".join(out)
