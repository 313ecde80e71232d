"""`make demo` end to end, held to the sample output in docs/demo.md.

The demo runs once for the module; its output must equal the doc's sample once the parts that
cannot stay still are masked (clocks, measured latencies, durations, memory, ports, paths), so
the counts, the tables and the order of everything are the doc's. The doc's sample is rewritten
from a run with SHIPPER_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "demo.md"
UPDATE = os.environ.get("SHIPPER_UPDATE_GOLDEN") == "1"


def _status() -> str:
    """What git sees changed outside build/ (the demo must write nowhere else)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], capture_output=True,
                          text=True, cwd=REPO, check=False).stdout


@pytest.fixture(scope="module")
def demo() -> tuple[subprocess.CompletedProcess[str], float, str, str]:
    before = _status()
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(REPO / "demo" / "run.py")], capture_output=True,
                          text=True, cwd=REPO, timeout=120, check=False)
    return proc, time.monotonic() - t0, before, _status()


# What moves between runs, and what it becomes. Applied in order, to the doc and the run alike.
SHOWN_REPO = "/home/you/logbridge"  # where the doc's sample says the clone is
MOVING = [
    (re.compile(re.escape(str(REPO)) + "|" + re.escape(SHOWN_REPO)), "<repo>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC"), "<time>"),
    (re.compile(r"\(\d{2}:\d{2}:\d{2} UTC on\)"), "(<time> on)"),
    (re.compile(r"(?<![\d:])\d{2}:\d{2}=(?=[\d,]+)"), "<hh:mm>="),
    (re.compile(r'"log_id":"[0-9a-f]+-\d+"'), '"log_id":"<id>"'),
    (re.compile(r'"latency":[0-9.e-]+'), '"latency":<s>'),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"\d[\d,]* lines in [\d.]+ s \([\d,]+ lines/s\)"), "<n> lines in <s> (<rate>)"),
    (re.compile(r"peak memory: .*"), "peak memory: <MB>"),
    (re.compile(r"\(\d+\.\d s, output under"), "(<s>, output under"),
    (re.compile(r"^(  \w+ +)\d+\.\d s  ", re.M), r"\1<s>  "),
]


def _mask_ms_columns(text: str) -> str:
    """Cells of columns whose name ends in _ms (measured latencies) become <ms>, re-padded."""
    out = []
    ms_cols: list[int] = []
    for line in text.splitlines():
        if line.startswith("| ") and line.endswith(" |"):
            cells = [c.strip() for c in line[2:-2].split(" | ")]
            if any(c.endswith("_ms") for c in cells):
                ms_cols = [i for i, c in enumerate(cells) if c.endswith("_ms")]
            elif ms_cols and len(cells) > max(ms_cols):
                cells = ["<ms>" if i in ms_cols else c for i, c in enumerate(cells)]
            line = "| " + " | ".join(cells) + " |"
        elif line.startswith("+-"):
            line = "+-"  # border widths follow the widest cell, which moves
        elif not line.startswith("|"):
            ms_cols = []
        out.append(line)
    return "\n".join(out)


def normalise(text: str) -> str:
    for pattern, repl in MOVING:
        text = pattern.sub(repl, text)
    return _mask_ms_columns(text).strip()


def doc_sample() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## Sample output", 1)[1].split("```text\n", 1)[1].rsplit("```", 1)[0]


@pytest.mark.slow
def test_golden_demo_output_is_what_docs_demo_md_shows(demo: tuple[subprocess.CompletedProcess[str], float, str, str]) -> None:
    proc, took = demo[:2]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert took < 60
    if UPDATE:
        text = DOC.read_text(encoding="utf-8")
        head, tail = text.split("```text\n", 1)
        sample = proc.stdout.strip().replace(str(REPO), SHOWN_REPO)
        DOC.write_text(head + "```text\n" + sample + "\n```" + tail.rsplit("```", 1)[1], encoding="utf-8")
    assert normalise(proc.stdout) == normalise(doc_sample())


@pytest.mark.slow
def test_every_stage_runs_and_every_line_lands(demo: tuple[subprocess.CompletedProcess[str], float, str, str]) -> None:
    out = demo[0].stdout
    # load: every line of the app's stdout is somewhere: access rows, the app's events, the print
    assert "access_log: 241 rows" in out and "app_log: 27 rows" in out and "raw_log: 1 rows" in out
    assert "Rejected: 0" in out
    assert "KeyError: 'orders'" in out and "<- outage" in out
    assert (REPO / "build" / "demo" / "fluentd_buffer.png").stat().st_size > 10_000
    assert "retries-rising: ALARM at" in out
    summary = out.split("=== demo summary", 1)[1]
    assert len(re.findall(r"^  \w+ +[\d.]+ s  ok$", summary, re.M)) == 6
    # the demo writes only under build/demo/ (ignored by git): the tree is as it was
    assert demo[3] == demo[2]


def test_the_png_has_count_ticks_and_a_utc_time_axis(tmp_path: Path) -> None:
    import importlib.util

    import matplotlib

    matplotlib.use("Agg")
    os.environ.setdefault("MPLCONFIGDIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("demo_run", REPO / "demo" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    fig = run.buffer_figure(run.output_series(run.read_status_lines()))
    fig.canvas.draw()
    bytes_axis, retries_axis = fig.axes
    retry_ticks = [t.get_position()[1] for t in retries_axis.get_yticklabels()]
    assert retry_ticks and all(float(t).is_integer() for t in retry_ticks)  # counts, never 0.5
    assert "UTC" in bytes_axis.get_xlabel()
    labels = [t.get_text() for t in bytes_axis.get_xticklabels()]
    # the capture ran 09:37-09:39 UTC: the axis says so whatever the machine's time zone
    assert labels and all(label.startswith("09:") for label in labels if label)
