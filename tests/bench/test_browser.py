"""The HTML report renders in a real browser (headless Chromium): tables are there and every image decodes.

Marked ``browser``: runs where ``chromium`` is installed (CI installs Debian's package; locally
``apt-get install chromium``), skipped elsewhere.
"""

from __future__ import annotations

import html.parser
import shutil
import subprocess

import pytest

from inverselab.bench.report import write_report
from inverselab.bench.runner import run_bench
from inverselab.bench.suites import Suite, SuiteEntry

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

# Runs after the page has loaded (the report itself has no script): counts what the browser rendered.
_PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0);
  const shown = imgs.filter(i => i.getBoundingClientRect().width > 0);
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({images: imgs.length, broken: broken.length, shown: shown.length,
    tables: document.querySelectorAll("table.results").length,
    rows: document.querySelectorAll("table.results tbody tr").length,
    width: document.querySelector("main").getBoundingClientRect().width});
  document.body.appendChild(probe);
});
</script>"""


class _Probe(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self._on = None, False

    def handle_starttag(self, tag, attrs):
        self._on = tag == "pre" and dict(attrs).get("id") == "probe"

    def handle_data(self, data):
        if self._on:
            self.text = data
            self._on = False


def _render(page) -> dict:
    import json

    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={page.parent / 'chromium-profile'}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = _Probe()
    probe.feed(done.stdout)
    assert probe.text, "the page did not finish loading: " + done.stdout[:500]
    return json.loads(probe.text)


def test_report_renders_in_chromium(tmp_path):
    suite_entries = (
        SuiteEntry("denoise-sigma25", ("tv-admm", "adjoint"), ("camera", "coins")),
        SuiteEntry("cs-sparse-250x500", ("amp", "adjoint"), ("bernoulli-gaussian",)),
    )
    from inverselab.bench.runner import plan

    tasks = plan(Suite("browser", "test", suite_entries, size=24))
    run_bench(tasks, tmp_path)
    _, page = write_report(tmp_path)
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    seen = _render(probed)
    assert seen["tables"] == 1 + 2 and seen["rows"] == 2 + 4  # the overview, then one table per preset
    # 2 quality-vs-time plots; denoise: 2 images x (truth, measurement, 2 reconstructions, 2 error maps);
    # vector preset: truth and 2 reconstructions.
    assert seen["images"] == 2 + 2 * 6 + 3
    assert seen["broken"] == 0 and seen["shown"] == seen["images"]
    assert seen["width"] > 300
