"""The Terraform module, judged by Terraform itself: `terraform validate`, then `terraform plan`
with the real AWS provider against a moto server on 127.0.0.1 (the data sources - caller
identity, region, fluentd's log group - are real reads), and the plan's values checked: the
deadline (timeout), no async retry, a destination for failed invocations, least privilege, and
alarms equal, field by field, to what `shipper alarms` would create.

Needs `terraform` on PATH and the hashicorp/aws provider in a local mirror
(LOGBRIDGE_TF_PLUGIN_DIR, default /opt/tf-plugins, laid out as `terraform init -plugin-dir`
wants); skipped with the reason otherwise (no network here to download it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fm_testsupport import REPO, load_handler

from shipper.alarms import AlarmSettings, desired_alarms

PLUGIN_DIR = Path(os.environ.get("LOGBRIDGE_TF_PLUGIN_DIR", "/opt/tf-plugins"))
WATCHED = ["out_bq_access", "out_bq_app"]
OVERRIDE = """
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
%s
  }
}
"""
SERVICES = ("autoscaling", "cloudwatch", "ec2", "events", "iam", "lambda", "logs", "sns", "sqs", "sts")


def _skip_reason() -> str | None:
    if shutil.which("terraform") is None:
        return "terraform is not installed"
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return f"no hashicorp/aws provider mirror at {PLUGIN_DIR} (set LOGBRIDGE_TF_PLUGIN_DIR)"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))]


def tf(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    return subprocess.run(["terraform", *args], cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def plan(tmp_path_factory, moto_url):
    """The module copied with the Lambda sources and built zips, planned against moto."""
    import boto3

    root = tmp_path_factory.mktemp("tf")
    shutil.copytree(REPO / "deploy", root / "deploy")
    shutil.copytree(REPO / "lambdas", root / "lambdas", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, str(REPO / "lambdas" / "build_zip.py"), "--out", str(root / "dist")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    module = root / "deploy" / "terraform" / "logbridge"
    endpoints = "\n".join(f'    {s} = "{moto_url}"' for s in SERVICES)
    (module / "zz_test_provider_override.tf").write_text(OVERRIDE % endpoints)
    boto3.client("logs", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_log_group(logGroupName="/ecs/fluentd-tf")
    (module / "test.tfvars.json").write_text(json.dumps({
        "fluentd_log_group_name": "/ecs/fluentd-tf", "watched_plugin_ids": WATCHED,
        "alarm_actions": ["arn:aws:sns:us-east-1:123456789012:page"],
        "ecs_cluster_names": ["prod"], "ecs_asg_names": ["ecs-asg"]}))
    init = tf(module, "init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={PLUGIN_DIR}")
    assert init.returncode == 0, init.stdout + init.stderr
    validate = tf(module, "validate", "-no-color")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    p = tf(module, "plan", "-input=false", "-no-color", "-var-file=test.tfvars.json", "-out=plan.bin")
    assert p.returncode == 0, p.stdout + p.stderr
    shown = tf(module, "show", "-json", "plan.bin")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def resources(plan: dict) -> dict[str, dict]:
    return {r["address"]: r["values"] for r in plan["planned_values"]["root_module"]["resources"]}


def config_refs(plan: dict, address: str) -> dict:
    for r in plan["configuration"]["root_module"]["resources"]:
        if r["address"] == address:
            return r["expressions"]
    raise KeyError(address)


def test_the_function_has_a_timeout_the_handler_can_keep(plan):
    handler = load_handler()
    from fm_config import Config

    cfg = Config()
    fn = resources(plan)["aws_lambda_function.fluentd_metrics"]
    assert fn["timeout"] == 60
    # one whole attempt plus the reserve fits: the deadline never leaves it no try at all
    assert cfg.connect_timeout + cfg.read_timeout + handler.ATTEMPT_MARGIN_SECONDS + cfg.deadline_reserve < fn["timeout"]
    assert handler.DEFAULT_REMAINING_MS == fn["timeout"] * 1000  # a local run assumes the same
    env = fn["environment"][0]["variables"]
    assert env["METRICS_MODE"] == "emf" == cfg.mode
    assert int(env["METRICS_MAX_METRICS_PER_INVOCATION"]) == cfg.max_metrics_per_invocation
    assert int(env["METRICS_MAX_METRICS_PER_PLUGIN"]) == cfg.max_metrics_per_plugin
    assert int(env["METRICS_MAX_METRICS_PER_HOUR"]) == cfg.max_metrics_per_hour
    assert fn["reserved_concurrent_executions"] == 1


def test_no_async_retry_and_failed_invocations_go_to_a_queue(plan):
    inv = resources(plan)["aws_lambda_function_event_invoke_config.fluentd_metrics"]
    assert inv["maximum_retry_attempts"] == 0
    dest = config_refs(plan, "aws_lambda_function_event_invoke_config.fluentd_metrics")["destination_config"][0]
    assert "aws_sqs_queue.fluentd_metrics_failed.arn" in dest["on_failure"][0]["destination"]["references"]
    queue = resources(plan)["aws_sqs_queue.fluentd_metrics_failed"]
    assert queue["message_retention_seconds"] == 14 * 86400
    alarm = resources(plan)["aws_cloudwatch_metric_alarm.fluentd_metrics_failed"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["threshold"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0)


def test_the_role_may_send_to_its_queue_and_nothing_more(plan):
    refs = config_refs(plan, "aws_iam_role_policy.fluentd_metrics")["policy"]["references"]
    assert "aws_sqs_queue.fluentd_metrics_failed.arn" in refs
    doc = json.loads((REPO / "lambdas" / "fluentd_metrics" / "iam_policy.json").read_text())
    sqs = [s for s in doc["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert len(sqs) == 1 and sqs[0]["Resource"] == "${failure_queue_arn}"


def test_terraform_alarms_are_the_alarms_shipper_alarms_makes(plan):
    """Every alarm attribute Terraform would send equals PutMetricAlarm's request from
    shipper.alarms for the same settings: the two ways to deploy cannot drift apart."""
    want = {s.name: s.request() for s in desired_alarms(AlarmSettings(
        plugin_ids=tuple(WATCHED), actions=("arn:aws:sns:us-east-1:123456789012:page",)))}
    got = {}
    for address, v in resources(plan).items():
        if address.startswith("aws_cloudwatch_metric_alarm.") and v["namespace"] == "fluentd":
            got[v["alarm_name"]] = v
    assert sorted(got) == sorted(want)
    for name, req in want.items():
        v = got[name]
        assert v["alarm_description"] == req["AlarmDescription"], name
        assert (v["metric_name"], v["statistic"], v["comparison_operator"], v["treat_missing_data"]) == (
            req["MetricName"], req["Statistic"], req["ComparisonOperator"], req["TreatMissingData"]), name
        assert (v["period"], v["evaluation_periods"], v["datapoints_to_alarm"], float(v["threshold"])) == (
            req["Period"], req["EvaluationPeriods"], req["DatapointsToAlarm"], req["Threshold"]), name
        assert (v["dimensions"] or {}) == {d["Name"]: d["Value"] for d in req["Dimensions"]}, name
        assert v["alarm_actions"] == req["AlarmActions"] and v["ok_actions"] == req["OKActions"], name


def test_the_subscription_filter_uses_the_pattern_file(plan):
    sub = resources(plan)["aws_cloudwatch_log_subscription_filter.fluentd_metrics"]
    text = (REPO / "lambdas" / "fluentd_metrics" / "subscription_filter_pattern.txt").read_text().strip()
    assert sub["filter_pattern"] == text and sub["log_group_name"] == "/ecs/fluentd-tf"
