"""shipper alarms: definitions, plan/apply against CloudWatch (moto), the CLI, and the
consistency of alarms (Python and Terraform) with the metric names the Lambda publishes."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from shipper import alarms
from shipper.alarms import AlarmError, AlarmSettings, desired_alarms
from shipper.cli import main

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "deploy" / "terraform" / "logbridge"
LAMBDA_DIR = REPO / "lambdas" / "fluentd_metrics"


def _catalog():
    spec = importlib.util.spec_from_file_location("fluentd_metrics_catalog", LAMBDA_DIR / "fm_catalog.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def cw(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


S = AlarmSettings(plugin_ids=("out_bq_access", "out_bq_app"), actions=("arn:aws:sns:us-east-1:123456789012:page",))


PER_OUTPUT = ("retries-rising", "queued-bytes-high", "buffer-space-low", "chunks-dropped", "insert-errors",
              "secondary-written")
GLOBAL = ("status-missing", "error-events", "metrics-over-budget")


def test_the_alarm_kinds():
    specs = {s.name: s for s in desired_alarms(S)}
    assert sorted(specs) == sorted([f"fluentd-{p}-{k}" for p in S.plugin_ids for k in PER_OUTPUT]
                                   + [f"fluentd-{k}" for k in GLOBAL])
    r = specs["fluentd-out_bq_app-retries-rising"]
    assert (r.metric_name, r.statistic, r.comparison, r.threshold) == ("retry_count_increase", "Sum",
                                                                       "GreaterThanThreshold", 0)
    assert r.evaluation_periods == r.datapoints_to_alarm == 3 and r.dimensions == (("PluginId", "out_bq_app"),)
    space = specs["fluentd-out_bq_app-buffer-space-low"]
    assert (space.metric_name, space.statistic, space.comparison, space.threshold) == (
        "buffer_available_buffer_space_ratios", "Minimum", "LessThanThreshold", 20.0)
    q = specs["fluentd-out_bq_access-queued-bytes-high"]
    assert (q.metric_name, q.statistic, q.threshold) == ("buffer_total_queued_size", "Maximum", 64 * 1024 * 1024)
    down = specs["fluentd-status-missing"]
    assert (down.metric_name, down.dimensions, down.treat_missing_data) == ("status_lines", (), "breaching")
    assert all(s.treat_missing_data == "notBreaching" for n, s in specs.items() if n != "fluentd-status-missing")
    # events that must not happen at all: one in one period pages someone
    for name, metric in (("fluentd-out_bq_app-chunks-dropped", "log_retry_limit_hit"),
                         ("fluentd-out_bq_app-insert-errors", "log_insert_errors"),
                         ("fluentd-out_bq_app-secondary-written", "log_secondary_written"),
                         ("fluentd-error-events", "log_error_events"),
                         ("fluentd-metrics-over-budget", "metrics_over_budget")):
        e = specs[name]
        assert (e.metric_name, e.statistic, e.comparison, e.threshold) == (metric, "Sum", "GreaterThanThreshold", 0)
        assert e.evaluation_periods == e.datapoints_to_alarm == 1
        assert e.dimensions == ((("PluginId", "out_bq_app"),) if "out_bq_app" in name else ())


@pytest.mark.parametrize("change", [dict(plugin_ids=()), dict(plugin_ids=("a b",)), dict(period=90),
                                    dict(space_ratio_threshold=120), dict(retry_periods=0),
                                    dict(actions=("not-an-arn",)), dict(prefix="bad prefix")])
def test_bad_settings_are_rejected(change):
    with pytest.raises(AlarmError):
        desired_alarms(AlarmSettings(**{**S.__dict__, **change}))


def test_plan_apply_then_nothing_to_do(cw):
    n = 2 * len(PER_OUTPUT) + len(GLOBAL)
    p = alarms.plan(cw, S)
    assert p.count("create") == n and p.count("update") == 0
    done = alarms.apply(cw, p)
    assert len(done) == n
    live = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    a = live["fluentd-out_bq_access-retries-rising"]
    assert a["MetricName"] == "retry_count_increase" and a["Namespace"] == "fluentd"
    assert a["Dimensions"] == [{"Name": "PluginId", "Value": "out_bq_access"}]
    assert a["AlarmActions"] == list(S.actions) and a["TreatMissingData"] == "notBreaching"
    assert live["fluentd-status-missing"]["TreatMissingData"] == "breaching"
    again = alarms.plan(cw, S)
    assert again.count("unchanged") == n and alarms.apply(cw, again) == []


def test_changed_threshold_is_an_update_and_prune_deletes_stale(cw):
    alarms.apply(cw, alarms.plan(cw, S))
    cw.put_metric_alarm(AlarmName="fluentd-out_old-retries-rising", Namespace="fluentd",
                        MetricName="retry_count_increase", Statistic="Sum", Period=60, EvaluationPeriods=1,
                        Threshold=0, ComparisonOperator="GreaterThanThreshold")
    cw.put_metric_alarm(AlarmName="other-team-alarm", Namespace="x", MetricName="y", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    s2 = AlarmSettings(**{**S.__dict__, "queued_bytes_threshold": 1e6})
    p = alarms.plan(cw, s2)
    assert [c.name for c in p.changes if c.action == "update"] == [
        "fluentd-out_bq_access-queued-bytes-high", "fluentd-out_bq_app-queued-bytes-high"]
    assert any("Threshold: 67108864.0 -> 1000000.0" in d for c in p.changes for d in c.diffs)
    assert p.count("delete") == 0  # without --prune, stale alarms are left alone
    p = alarms.plan(cw, s2, prune=True)
    assert [c.name for c in p.changes if c.action == "delete"] == ["fluentd-out_old-retries-rising"]
    alarms.apply(cw, p)
    names = {a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]}
    assert "fluentd-out_old-retries-rising" not in names and "other-team-alarm" in names
    assert cw.describe_alarms(AlarmNames=["fluentd-out_bq_app-queued-bytes-high"])["MetricAlarms"][0]["Threshold"] == 1e6


def test_cli_plan_and_apply(cw, capsys):
    argv = ["--plugin-id", "out_bq_access", "--alarm-action", "arn:aws:sns:us-east-1:123456789012:page"]
    assert main(["alarms", "plan", *argv]) == 0
    out = capsys.readouterr().out
    assert "+ create fluentd-out_bq_access-retries-rising" in out
    assert out.strip().endswith("Plan: 9 to create, 0 to update, 0 to delete, 0 unchanged.")
    assert cw.describe_alarms()["MetricAlarms"] == []  # plan changes nothing
    assert main(["alarms", "apply", *argv]) == 0
    assert "Applied: 9 alarm(s) changed." in capsys.readouterr().out
    assert len(cw.describe_alarms()["MetricAlarms"]) == 9
    assert main(["alarms", "apply", *argv]) == 0
    assert "Applied: no changes." in capsys.readouterr().out


def test_cli_exit_codes(cw, capsys):
    assert main(["alarms", "plan", "--plugin-id", "out x"]) == 1
    assert "shipper: error: plugin id" in capsys.readouterr().err
    assert main(["alarms", "apply", "--plugin-id", "o", "--space-ratio-threshold", "0"]) == 1
    for argv in (["alarms"], ["alarms", "plan"], ["alarms", "plan", "--plugin-id", "o", "--period", "x"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    for sub in ("plan", "apply"):
        with pytest.raises(SystemExit) as e:
            main(["alarms", sub, "--help"])
        assert e.value.code == 0 and "usage: shipper alarms" in capsys.readouterr().out


def test_cli_reports_aws_failure_as_exit_1(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # nothing listens on port 9 of localhost: a connection error, reported on one line
    rc = main(["alarms", "plan", "--plugin-id", "o", "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:9"])
    assert rc == 1 and capsys.readouterr().err.startswith("shipper: error: CloudWatch:")


def test_would_fire_replays_alarm_evaluation_on_stored_data(cw):
    now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    t = lambda m: now - timedelta(minutes=m)
    data = [("retry_count_increase", [{"Name": "PluginId", "Value": "out_a"}], t(m), 2.0) for m in (10, 9, 8)]
    data += [("buffer_available_buffer_space_ratios", [{"Name": "PluginId", "Value": "out_a"}], t(m), 90.0)
             for m in range(12, 1, -1)]
    data += [("status_lines", [], t(m), 1.0) for m in range(12, 1, -1)]
    for name, dims, ts, v in data:
        cw.put_metric_data(Namespace="fluentd", MetricData=[{"MetricName": name, "Dimensions": dims,
                                                             "Timestamp": ts, "Value": v}])
    fired = alarms.would_fire(cw, start=now - timedelta(hours=1), end=now)
    assert len(fired) == 1 and fired[0].startswith("fluentd-out_a-retries-rising: ALARM at 2026-11-28 11:53")
    # fluentd silent for the last 5 minutes: the status-missing alarm fires (missing = breaching)
    fired = alarms.would_fire(cw, start=now - timedelta(hours=1), end=now + timedelta(minutes=4))
    assert any(f.startswith("fluentd-status-missing: ALARM") for f in fired)


# -- consistency with the Lambda and Terraform --------------------------------------------------

def test_alarm_metrics_are_published_by_the_handler():
    names = _catalog().all_metric_names()
    for spec in desired_alarms(S):
        assert spec.metric_name in names, spec.name
    assert set(alarms.METRIC_NAMES) <= names


def _tf_alarms() -> dict[str, dict[str, str]]:
    """alarms.tf's entries of data, {kind: {attribute: value}}: the entries of the locals
    per_output_alarms and global_alarms, an entry written `merge(local.x, {...})` with local.x's
    attributes under its own, and "group" saying which of the two it is in."""
    text = (TF / "alarms.tf").read_text()

    def attrs(body: str) -> dict[str, str]:
        return {k: v.strip('"') for k, v in re.findall(r'^\s*(\w+)\s*=\s*(.+?)\s*$', body, re.MULTILINE)}

    out = {}
    for group in ("per_output_alarms", "global_alarms"):
        block = re.search(rf"^  {group} = \{{\n(.*?)^  \}}$", text, re.DOTALL | re.MULTILINE).group(1)
        for m in re.finditer(r"^    ([\w-]+) = (?:merge\(local\.(\w+), )?\{\n(.*?)^    \}", block, re.DOTALL | re.MULTILINE):
            base = {}
            if m.group(2):
                base = attrs(re.search(rf"^  {m.group(2)} = \{{\n(.*?)^  \}}$", text, re.DOTALL | re.MULTILINE).group(1))
            out[m.group(1)] = base | attrs(m.group(3)) | {"group": group}
    return out


def test_terraform_alarms_match_shipper_alarms():
    tf = _tf_alarms()
    assert set(tf) == set(PER_OUTPUT + GLOBAL)
    specs = {s.name.removeprefix("fluentd-").removeprefix("out_bq_app-"): s
             for s in desired_alarms(AlarmSettings(plugin_ids=("out_bq_app",)))}
    names = _catalog().all_metric_names()
    for key, attrs in tf.items():
        spec = specs[key]
        assert attrs["metric_name"] == spec.metric_name and attrs["metric_name"] in names
        assert attrs["statistic"] == spec.statistic
        assert attrs["comparison"] == spec.comparison
        assert attrs["treat_missing_data"] == spec.treat_missing_data
        assert attrs["group"] == ("per_output_alarms" if spec.dimensions else "global_alarms"), key
    # the name: the prefix, then the entry's key ("<plugin id>-<kind>" for the per-output kinds)
    text = (TF / "alarms.tf").read_text()
    assert '"${pair[0]}-${pair[1]}" => merge(local.per_output_alarms[pair[1]]' in text
    assert re.search(r'alarm_name\s*=\s*"\$\{var\.alarm_prefix\}-\$\{each\.key\}"', text)
    variables = (TF / "variables_metrics.tf").read_text()
    for var, value in (("queued_bytes_threshold", 64 * 1024 * 1024), ("space_ratio_threshold", 20),
                       ("retry_alarm_periods", 3), ("missing_status_periods", 5), ("alarm_period", 60)):
        block = variables.split(f'variable "{var}"')[1].split("\n}")[0]
        assert re.search(rf"default\s*=\s*{value}\b", block), var


def test_terraform_uses_the_lambda_files_and_settings():
    text = (TF / "metrics_lambda.tf").read_text()
    assert "subscription_filter_pattern.txt" in text and "iam_policy.json" in text
    assert 'handler          = "handler.handler"' in text
    assert "reserved_concurrent_executions = 1" in text
    for env in ("METRICS_NAMESPACE", "METRICS_MODE", "METRICS_DIMENSIONS", "METRICS_MAX_METRICS_PER_INVOCATION",
                "METRICS_MAX_METRICS_PER_PLUGIN", "METRICS_MAX_METRICS_PER_HOUR"):
        assert env in text
    # a retry would re-send what went through: none; what fails goes to a queue
    assert re.search(r"maximum_retry_attempts\s*=\s*0\b", text) and "on_failure" in text
    assert re.search(r"timeout\s*=\s*var\.metrics_timeout_seconds", text)
    versions = (TF / "versions.tf").read_text()
    assert "required_version" in versions and "hashicorp/aws" in versions


def test_iam_policy_is_least_privilege():
    doc = json.loads((LAMBDA_DIR / "iam_policy.json").read_text())
    actions = sorted(a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["cloudwatch:PutMetricData", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]
    put = next(s for s in doc["Statement"] if s["Action"] == "cloudwatch:PutMetricData")
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "${namespace}"}}
    logs = next(s for s in doc["Statement"] if "logs:PutLogEvents" in s["Action"])
    assert logs["Resource"].endswith(":log-group:/aws/lambda/${function_name}:*")
    sqs = next(s for s in doc["Statement"] if s["Action"] == "sqs:SendMessage")
    assert sqs["Resource"] == "${failure_queue_arn}"  # its own failed-invocations queue only
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])


def test_boto3_is_not_imported_by_importing_shipper_alarms():
    import subprocess

    code = "import sys, shipper.alarms, shipper._cli.alarms; print('boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
