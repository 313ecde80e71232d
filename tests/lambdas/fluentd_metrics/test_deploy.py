"""Deploy artifacts: the zip (deterministic, handler only, runs with the stdlib and boto3) and the
subscription filter pattern (selects exactly the lines the handler turns into metrics)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

from fm_testsupport import LAMBDA_DIR, REPO, all_lines, load_handler

from support_awslogs import build_subscription_event

BUILD = REPO / "lambdas" / "build_zip.py"


def run_build(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD), *args], capture_output=True, text=True, timeout=120)


def test_zip_holds_the_handler_modules_only_and_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_build("--out", str(a), "fluentd_metrics").returncode == 0
    out = run_build("--out", str(b), "fluentd_metrics")
    assert out.returncode == 0 and "fluentd_metrics.zip" in out.stdout
    za, zb = a / "fluentd_metrics.zip", b / "fluentd_metrics.zip"
    assert za.read_bytes() == zb.read_bytes()
    with zipfile.ZipFile(za) as z:
        names = z.namelist()
        assert names == sorted(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
        assert all((i.external_attr >> 16) & 0o777 == 0o644 for i in z.infolist())
    assert names == sorted(p.name for p in LAMBDA_DIR.glob("*.py"))
    assert "handler.py" in names and not any(n.endswith((".json", ".txt", ".pyc")) for n in names)


def test_zip_runs_from_the_zip_alone_in_emf_mode(tmp_path):
    """The zip on sys.path and nothing of the repo: what the Lambda runtime would see."""
    assert run_build("--out", str(tmp_path), "fluentd_metrics").returncode == 0
    event = build_subscription_event([line for line in all_lines("monitor_agent_stdout.log")
                                      if line.startswith("2026")][:10], log_group="g", log_stream="s")
    (tmp_path / "event.json").write_text(json.dumps(event))
    code = ("import json, sys, handler; handler.CLOCK = lambda: 1795867200.0; "
            "s = handler.handler(json.load(open(sys.argv[1])), None); "
            "assert 'shipper' not in sys.modules and 'boto3' not in sys.modules; print('OK', s['status_lines'])")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'fluentd_metrics.zip')!r}); " + code,
                          str(tmp_path / "event.json")], capture_output=True, text=True, timeout=60,
                         env={"METRICS_MODE": "emf", "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "OK 10"


def test_a_lambda_importing_a_third_party_package_fails_the_build(tmp_path):
    root = tmp_path / "lambdas"
    (root / "bad").mkdir(parents=True)
    (root / "bad" / "handler.py").write_text("import requests\nimport json\nimport helper\n")
    (root / "bad" / "helper.py").write_text("import boto3\n")
    out = run_build("--root", str(root), "--out", str(tmp_path / "dist"))
    assert out.returncode == 1 and "bad/handler.py:1: imports requests" in out.stderr
    assert "helper" not in out.stderr and not (tmp_path / "dist" / "bad.zip").exists()


def test_every_handler_directory_gets_its_zip(tmp_path):
    root = tmp_path / "lambdas"
    for name in ("one", "two"):
        (root / name / "tests").mkdir(parents=True)
        (root / name / "handler.py").write_text("def handler(event, context):\n    return 1\n")
        (root / name / "tests" / "test_x.py").write_text("import pytest\n")
    (root / "not_a_lambda").mkdir()
    out = run_build("--root", str(root), "--out", str(tmp_path / "dist"))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["one.zip", "two.zip"]
    assert zipfile.ZipFile(tmp_path / "dist" / "one.zip").namelist() == ["handler.py"]


# -- subscription filter pattern ----------------------------------------------------------------

def pattern_terms() -> list[str]:
    text = (LAMBDA_DIR / "subscription_filter_pattern.txt").read_text().strip()
    terms = re.findall(r'\?"([^"]+)"', text)
    # the whole pattern is OR-ed quoted terms and nothing else
    assert re.sub(r'\?"[^"]+"', "", text).strip() == ""
    return terms


def selected(line: str, terms: list[str]) -> bool:
    """CloudWatch Logs' `?"a" ?"b"`: an event matches if it contains any of the quoted terms
    (case-sensitive). moto's filter does not implement `?`, so this is our reading of the docs."""
    return any(t in line for t in terms)


def test_filter_pattern_selects_exactly_the_lines_that_become_metrics():
    load_handler()
    from fm_lines import LogEvent, Status, parse_line

    terms = pattern_terms()
    assert len(terms) == 9
    for name in ("monitor_agent_stdout.log", "fluentd_warn_lines.log", "bigquery_error_lines.log"):
        for line in all_lines(name):
            if line.startswith("#") or not line.strip():
                continue
            useful = isinstance(parse_line(line), (Status, LogEvent))
            assert selected(line, terms) == useful, line[:120]


def test_filter_pattern_fits_cloudwatch_limits():
    text = (LAMBDA_DIR / "subscription_filter_pattern.txt").read_text().strip()
    assert len(text) <= 1024 and "\n" not in text  # FilterPattern: at most 1024 characters


def test_filter_pattern_covers_every_counted_log_event():
    load_handler()
    import fm_lines

    terms = pattern_terms()
    for needle, _ in fm_lines.LOG_EVENTS:
        assert any(t in needle for t in terms), needle
    # every status line, whatever its tag: monitor_agent always writes plugin_category
    assert any(t in '2026-11-28 09:37:52 +0000 fluentd.status.out_bq: {"plugin_id":"out_bq","plugin_category":"output"}'
               for t in terms)


def test_metric_names_are_valid_cloudwatch_names():
    load_handler()
    import fm_catalog

    for name in fm_catalog.all_metric_names():
        assert 1 <= len(name) <= 255 and name.isascii() and not name.startswith(":")
        assert fm_catalog.unit_of(name) in ("Count", "Bytes", "Percent", "Milliseconds")


def test_readme_documents_every_metric_setting_and_skip_reason():
    load_handler()
    import fm_catalog
    import fm_config

    text = (REPO / "lambdas" / "README.md").read_text()
    for name in sorted(fm_catalog.all_metric_names() - {k + fm_catalog.INCREASE_SUFFIX for k in fm_catalog.COUNTERS}):
        assert f"`{name}`" in text or name in text, name
    for field_name in ("METRICS_NAMESPACE", "METRICS_MODE", "METRICS_DIMENSIONS", "METRICS_STORAGE_RESOLUTION",
                       "METRICS_ON_API_FAILURE", "METRICS_CARRY_STATE", "METRICS_CARRY_MAX_AGE_SECONDS",
                       "METRICS_MAX_ATTEMPTS"):
        assert f"`{field_name}`" in text, field_name
    assert fm_config.DIMENSION_KEYS == ("PluginId", "LogStream", "LogGroup")
    src = (LAMBDA_DIR / "fm_lines.py").read_text() + (LAMBDA_DIR / "fm_fold.py").read_text()
    reasons = set(re.findall(r'Skip\("(\w+)"\)', src)) | set(re.findall(r'skip\("(\w+)"\)', src))
    assert reasons and all(f"`{r}`" in text for r in reasons), reasons
    assert "**Other handlers:**" in text
