"""The reports: report.md and index.html hold every method, and their numbers match results.json."""

from __future__ import annotations

import html.parser
import statistics

import pytest

from inverselab.bench.report import markdown_report, overview, summarize, write_report
from inverselab.bench.runner import Task, run_bench
from inverselab.bench.suites import Suite, SuiteEntry
from inverselab.cli import main

SUITE = Suite(
    "small",
    "test",
    (
        SuiteEntry("denoise-sigma25", ("tv-admm", "fista-wavelet", "adjoint"), ("camera", "coins")),
        SuiteEntry("cs-sparse-250x500", ("amp", "adjoint"), ("bernoulli-gaussian",), (0, 1)),
    ),
    size=24,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from inverselab.bench.runner import plan

    out = tmp_path_factory.mktemp("bench")
    tasks = plan(SUITE) + [Task("denoise-sigma25", "fbp", "camera", 0, 24)]  # one failure
    results = run_bench(tasks, out, meta={"suite": "small", "seed": 0})
    write_report(out)
    return out, results


def _mean(records, preset, method, key):
    return statistics.fmean(
        r[key] for r in records if (r["preset"], r["method"], r["status"]) == (preset, method, "ok")
    )


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.images, self._row, self._cell, self._in_table = [], [], None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("class") == "results":
            self.tables.append([])
            self._in_table = True
        elif tag == "tr" and self._in_table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._in_table:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_markdown_tables_match_results(run):
    out, results = run
    records = results["records"]
    text = (out / "report.md").read_text()
    for preset, methods in (
        ("denoise-sigma25", ("tv-admm", "fista-wavelet", "adjoint")),
        ("cs-sparse-250x500", ("amp", "adjoint")),
    ):
        section = text.split(f"## {preset}")[1].split("\n## ")[0]
        rows = {
            line.split("|")[1].strip(): line
            for line in section.splitlines()
            if line.startswith("| ") and "---" not in line
        }
        for m in methods:
            assert m in rows, (preset, m)
            cells = [c.strip().strip("*") for c in rows[m].strip().strip("|").split("|")]
            if preset == "denoise-sigma25":
                assert float(cells[1].split("±")[0]) == pytest.approx(
                    _mean(records, preset, m, "psnr"), abs=0.006
                )
                assert float(cells[2].split("±")[0]) == pytest.approx(
                    _mean(records, preset, m, "ssim"), abs=6e-5
                )
        nmse = _mean(records, preset, methods[0], "nmse_db")
        assert f"**{nmse:.2f}" in rows[methods[0]]  # the best NMSE is bold and is the first row
    assert "fbp on camera (seed 0)" in text  # the failure is listed
    assert "| fbp | – | – | – | – | 0 (1 failed) |" in text
    assert "commit" in text and "time budget" in text


def test_html_is_self_contained_and_matches(run):
    out, results = run
    page = (out / "index.html").read_text()
    assert 'src="images/' not in page and "http" not in page.split("<main>")[0]
    parser = _Page()
    parser.feed(page)
    assert len(parser.tables) == 2  # one table per preset
    denoise = {row[0]: row for row in parser.tables[0][1:]}
    assert set(denoise) == {"tv-admm", "fista-wavelet", "adjoint", "fbp"}
    psnr = float(denoise["tv-admm"][1].split("±")[0])
    assert psnr == pytest.approx(_mean(results["records"], "denoise-sigma25", "tv-admm", "psnr"), abs=0.006)
    vector = {row[0] for row in parser.tables[1][1:]}
    assert vector == {"amp", "adjoint"}
    assert all(img["src"].startswith("data:image/png;base64,") for img in parser.images)
    alts = [img["alt"] for img in parser.images]
    # grid: per test image (first seed) truth, measurement, reconstructions, error maps; a plot per preset
    assert alts.count("truth") == 2 + 1 and alts.count("tv-admm error") == 2 and alts.count("amp") == 1
    assert sum("quality vs time" in a for a in alts) == 2


def test_summary_bold_and_order():
    records = [
        {
            "preset": "p",
            "method": m,
            "image": i,
            "seed": 0,
            "status": "ok",
            "psnr": v,
            "ssim": 0.5,
            "nmse_db": -v,
            "seconds": 1.0,
        }
        for m, i, v in [("a", "x", 20.0), ("a", "y", 22.0), ("b", "x", 30.0), ("b", "y", 30.0)]
    ]
    rows = summarize(records)["p"]
    assert [r.method for r in rows] == ["b", "a"]
    assert rows[1].stats["psnr"].mean == 21.0 and rows[1].stats["psnr"].std == pytest.approx(2**0.5)
    records.append({**records[0], "method": "adjoint", "psnr": 10.0})
    methods, table = overview(records)
    assert methods == ["b", "a", "adjoint"]  # direct baselines last
    assert table == [("p", "PSNR dB", ["**30.00**", "21.00", "10.00"])]
    md = markdown_report({"meta": {}, "records": records})
    assert "| p | PSNR dB | **30.00** | 21.00 | 10.00 |" in md
    assert "| b | **30.00 ± 0.00** |" in md and "| a | 21.00 ± 1.41 |" in md


def test_cli_bench_end_to_end(tmp_path, capsys):
    out = tmp_path / "r"
    args = [
        "bench",
        "--suite",
        "tiny",
        "--presets",
        "denoise-sigma25",
        "--methods",
        "adjoint,tv-admm",
        "--num-images",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "denoise-sigma25" in printed and "best: tv-admm" in printed
    for name in ("results.json", "results.csv", "report.md", "index.html"):
        assert (out / name).stat().st_size > 0
    assert main(args + ["--resume"]) == 0
    assert "2 runs (0 failed)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--suite", "nope"], "suite must be one of"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--presets", "nope"], "presets must be among"),
        (["--methods", "nope"], "methods must be among"),
        (["--study", "nope"], "study must be one of"),
        (["--time-budget", "-1"], "--time-budget must be > 0"),
    ],
)
def test_cli_bench_errors_are_one_line(tmp_path, capsys, args, message):
    assert main(["bench", "--out", str(tmp_path), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_listing_suites_and_studies_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; from inverselab.cli import main;"
        "[main(['list', w]) for w in ('presets', 'suites', 'studies')];"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "quick" in out.stdout and "phase-transition" in out.stdout
    assert out.stdout.strip().endswith("False")


def test_cli_study_writes_a_self_contained_report(tmp_path, capsys, monkeypatch):
    import io

    from PIL import Image

    from inverselab.bench import studies

    calls = {}

    def fake_study(out, **kwargs):
        calls.update(kwargs)
        png = out / "fake.png"
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, format="PNG")
        png.write_bytes(buf.getvalue())
        table = "### a table\n\n| x | y |\n|---|---:|\n| one | **2.00** |"
        return studies.StudyResult("fake", "A fake study", "What was run: nothing.", [png], {"k": 1}, [table])

    monkeypatch.setitem(studies.STUDIES, "fake", ("unused:unused", "a fake"))
    monkeypatch.setattr(studies, "get_study", lambda name: fake_study)
    out = tmp_path / "s"
    args = [
        "bench",
        "--study",
        "fake",
        "--suite",
        "full",
        "--methods",
        "a,b",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert calls == {
        "suite": "full",
        "presets": None,
        "methods": ["a", "b"],
        "seed": 3,
        "jobs": 1,
        "progress": False,
    }
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "What was run: nothing." in page
    assert '<td class="best">2.00</td>' in page and "<h3>a table</h3>" in page
    md = (out / "report.md").read_text()
    assert "![fake](fake.png)" in md and "| one | **2.00** |" in md and "CPUs" in md
    assert main(["bench", "--study", "fake", "--suite", "tiny", "--out", str(out)]) == 2
