"""The scripts in examples/ run as a user runs them, and print what their docstrings promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _numbers(line: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+", line)]


def test_every_example_is_checked_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CHECKS)


def _deblur(out: str) -> None:
    lines = {line.split()[0]: line for line in out.splitlines()}
    blurred, tik, tv = (_numbers(lines[k])[0] for k in ("blurred", "Tikhonov", "TV"))
    assert blurred < tik < tv, out
    assert float(re.search(r"dot-test error of A: (\S+),", out).group(1)) < 1e-6


def _amp(out: str) -> None:
    rows = {int(line.split()[0]): _numbers(line) for line in out.splitlines() if re.match(r"\s+\d+\s", line)}
    for t in (5, 10):  # AMP follows its state evolution at N = 500 early on (REFERENCES.md)
        assert abs(rows[t][0] - rows[t][1]) < 2, out
    assert "rho = 0.3857" in out


def _lista(out: str) -> None:
    lines = out.splitlines()
    header = lines[1].split()[1:]
    last = dict(
        zip(header, _numbers(next(line for line in lines if line.split()[:1] == ["16"])), strict=True)
    )
    assert last["lista-cp"] < -30 and last["alista"] < -40 and last["AMP"] > last["lamp"], out
    trained, before, amp4 = _numbers(lines[-1])
    assert trained < amp4 < before, out


CHECKS = {"deblur_tv.py": _deblur, "amp_state_evolution.py": _amp, "lista_family.py": _lista}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_and_prints_its_numbers(name):
    CHECKS[name](_run(name))
