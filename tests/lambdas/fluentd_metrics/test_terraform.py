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
def module_dir(tmp_path_factory, moto_url) -> Path:
    """The module copied with the Lambda sources and built zips, pointed at moto, initialized."""
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
    return module


@pytest.fixture(scope="module")
def plan(module_dir):
    """The module planned against moto."""
    validate = tf(module_dir, "validate", "-no-color")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    p = tf(module_dir, "plan", "-input=false", "-no-color", "-var-file=test.tfvars.json", "-out=plan.bin")
    assert p.returncode == 0, p.stdout + p.stderr
    shown = tf(module_dir, "show", "-json", "plan.bin")
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


# -- upgrading a deployment made before the alarms were data ---------------------------------------

UPGRADE_PREFIX = "tf-upgrade"


def _kind(spec, prefix: str) -> str:
    """"retries-rising" for "<prefix>-<plugin id>-retries-rising", "status-missing" for "<prefix>-status-missing"."""
    rest = spec.name.removeprefix(f"{prefix}-")
    return rest.removeprefix(f"{dict(spec.dimensions)['PluginId']}-") if spec.dimensions else rest


def _alarms_before_data(specs, prefix: str) -> str:
    """alarms.tf as it was before its alarms became entries of data: one resource per kind of
    alarm, named after the kind, for_each over the watched outputs for the per-output kinds.
    Values are literals from shipper alarms (the two agree, test above)."""
    kinds: dict[str, list] = {}
    blocks = ["locals {\n  alarm_actions = var.alarm_actions\n}\n"]  # metrics_lambda.tf uses it
    for spec in specs:
        kinds.setdefault(_kind(spec, prefix), []).append(spec)
    for kind, group in kinds.items():
        first = group[0]
        assert not any("${" in s.description or "%{" in s.description for s in group)  # no HCL templates
        common = [f"namespace = {json.dumps(first.namespace)}", f"metric_name = {json.dumps(first.metric_name)}",
                  f"statistic = {json.dumps(first.statistic)}", f"period = {first.period}",
                  f"evaluation_periods = {first.evaluation_periods}", f"datapoints_to_alarm = {first.datapoints_to_alarm}",
                  f"threshold = {first.threshold}", f"comparison_operator = {json.dumps(first.comparison)}",
                  f"treat_missing_data = {json.dumps(first.treat_missing_data)}",
                  f"alarm_actions = {json.dumps(list(first.actions))}", f"ok_actions = {json.dumps(list(first.actions))}"]
        if first.dimensions:
            each = {dict(s.dimensions)["PluginId"]: {"name": s.name, "description": s.description} for s in group}
            head = [f"for_each = {json.dumps(each)}", "alarm_name = each.value.name",
                    "alarm_description = each.value.description", "dimensions = { PluginId = each.key }"]
        else:
            head = [f"alarm_name = {json.dumps(first.name)}", f"alarm_description = {json.dumps(first.description)}"]
        body = "\n".join(f"  {line}" for line in head + common)
        blocks.append(f'resource "aws_cloudwatch_metric_alarm" "{kind.replace("-", "_")}" {{\n{body}\n}}\n')
    return "\n".join(blocks)


def test_an_existing_deployment_keeps_every_alarm(module_dir, tmp_path, moto_url):
    """A deployment made with one resource per kind of alarm, upgraded: no alarm is deleted. The
    alarms without PluginId move to their entries; the per-output ones (whose instance keys no
    moved block can name) are forgotten and put again under the same name, which CloudWatch's
    PutMetricAlarm does in place."""
    import boto3

    root = tmp_path / "tf"
    shutil.copytree(module_dir.parents[2], root, symlinks=True,
                    ignore=shutil.ignore_patterns(".terraform", "*.bin", "terraform.tfstate*"))
    module = root / "deploy" / "terraform" / "logbridge"
    tfvars = json.loads((module / "test.tfvars.json").read_text()) | {"alarm_prefix": UPGRADE_PREFIX}
    (module / "test.tfvars.json").write_text(json.dumps(tfvars))
    specs = desired_alarms(AlarmSettings(plugin_ids=tuple(WATCHED), prefix=UPGRADE_PREFIX,
                                         actions=tuple(tfvars["alarm_actions"])))
    per_output = {s.name for s in specs if s.dimensions}
    kinds = {_kind(s, UPGRADE_PREFIX).replace("-", "_") for s in specs}
    current = {name: (module / name).read_text() for name in ("alarms.tf", "outputs_metrics.tf")}
    (module / "alarms.tf").write_text(_alarms_before_data(specs, UPGRADE_PREFIX))
    (module / "outputs_metrics.tf").unlink()  # it names the new resource
    init = tf(module, "init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={PLUGIN_DIR}")
    assert init.returncode == 0, init.stdout + init.stderr
    old_targets = [f"-target=aws_cloudwatch_metric_alarm.{k}" for k in sorted(kinds)]
    before = tf(module, "apply", "-auto-approve", "-input=false", "-no-color", "-var-file=test.tfvars.json", *old_targets)
    assert before.returncode == 0, before.stdout + before.stderr

    cw = boto3.client("cloudwatch", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")

    def live() -> set[str]:
        return {a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=f"{UPGRADE_PREFIX}-")["MetricAlarms"]}

    assert live() == {s.name for s in specs}

    for name, text in current.items():
        (module / name).write_text(text)
    # only the alarms (the rest of the module is not deployed here): the old and the new addresses
    targets = [*old_targets, "-target=aws_cloudwatch_metric_alarm.fluentd"]
    p = tf(module, "plan", "-input=false", "-no-color", "-var-file=test.tfvars.json", "-out=upgrade.bin", *targets)
    assert p.returncode == 0, p.stdout + p.stderr
    shown = tf(module, "show", "-json", "upgrade.bin")
    assert shown.returncode == 0, shown.stderr
    changes = json.loads(shown.stdout)["resource_changes"]
    assert not [c["address"] for c in changes if "delete" in c["change"]["actions"]]
    moved = {c["previous_address"]: c["address"] for c in changes if c.get("previous_address")}
    assert moved == {f"aws_cloudwatch_metric_alarm.{_kind(s, UPGRADE_PREFIX).replace('-', '_')}":
                     f'aws_cloudwatch_metric_alarm.fluentd["{_kind(s, UPGRADE_PREFIX)}"]' for s in specs if not s.dimensions}
    assert all(c["change"]["actions"] == ["no-op"] for c in changes if c.get("previous_address"))
    forgotten = {c["change"]["before"]["alarm_name"] for c in changes if c["change"]["actions"] == ["forget"]}
    created = {c["change"]["after"]["alarm_name"] for c in changes if c["change"]["actions"] == ["create"]}
    assert forgotten == created == per_output

    after = tf(module, "apply", "-auto-approve", "-input=false", "-no-color", "upgrade.bin")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "0 destroyed" in after.stdout
    assert live() == {s.name for s in specs}
    again = tf(module, "plan", "-input=false", "-no-color", "-var-file=test.tfvars.json", "-detailed-exitcode",
               *targets)
    assert again.returncode == 0, again.stdout + again.stderr  # 0: no changes left
