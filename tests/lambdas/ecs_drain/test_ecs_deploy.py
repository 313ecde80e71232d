"""Deploy artifacts of both ECS Lambdas: the zips, the IAM policies against the calls the code
makes, and the Terraform against the handlers' settings."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

REPO = Path(__file__).resolve().parents[3]
TF = REPO / "deploy" / "terraform" / "logbridge"
BUILD = REPO / "lambdas" / "build_zip.py"
LAMBDAS = {"ecs_drain": ("ec2", "ecs", "autoscaling", "sqs"), "ecs_agent_watch": ("ecs", "sns", "cloudwatch")}
IAM_PREFIX = {"ec2": "ec2", "ecs": "ecs", "autoscaling": "autoscaling", "sqs": "sqs", "sns": "sns",
              "cloudwatch": "cloudwatch"}
# What the Lambda service itself calls with the function's role (SQS event source mapping).
PLATFORM_ACTIONS = {"ecs_drain": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
                    "ecs_agent_watch": set()}
# Actions that have no resource-level permissions (or only a condition key), so "*" is the only choice.
STAR_OK = {"ec2:DescribeInstances", "autoscaling:DescribeLifecycleHooks", "cloudwatch:PutMetricData"}


def sources(name: str) -> str:
    return "\n".join(p.read_text() for p in sorted((REPO / "lambdas" / name).glob("*.py")))


def called_actions(name: str) -> set[str]:
    """IAM actions for every AWS operation the Lambda's code calls (method or paginator)."""
    text = sources(name)
    session = botocore.session.get_session()
    found = set()
    for service in LAMBDAS[name]:
        for op in session.get_service_model(service).operation_names:
            snake = xform_name(op)
            if re.search(rf"\.{snake}\(|get_paginator\(\"{snake}\"\)", text):
                found.add(f"{IAM_PREFIX[service]}:{op}")
    return found


def expanded_policy(name: str, clusters=("prod", "batch"), asgs=("prod-asg",)) -> dict:
    """iam_policy.json rendered as the Terraform does: templatefile, then {cluster}/{asg} per name."""
    text = (REPO / "lambdas" / name / "iam_policy.json").read_text()
    for var, value in {"region": "eu-west-1", "account_id": "111122223333", "function_name": name,
                       "queue_arn": "arn:aws:sqs:eu-west-1:111122223333:q",
                       "topic_arn": "arn:aws:sns:eu-west-1:111122223333:t", "namespace": "logbridge/ECS"}.items():
        text = text.replace("${" + var + "}", value)
    assert "${" not in text, "a template variable the Terraform does not pass"
    doc = json.loads(text)
    for s in doc["Statement"]:
        res = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        out = []
        for r in res:
            if "{cluster}" in r:
                out += [r.replace("{cluster}", c) for c in clusters]
            elif "{asg}" in r:
                out += [r.replace("{asg}", a) for a in asgs]
            else:
                out.append(r)
        s["Resource"] = out
    return doc


def actions_of(doc: dict) -> set[str]:
    acts = set()
    for s in doc["Statement"]:
        acts |= set([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    return acts


@pytest.mark.parametrize("name", sorted(LAMBDAS))
def test_policy_allows_exactly_what_the_code_calls(name):
    doc = expanded_policy(name)
    granted = actions_of(doc) - {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert granted == called_actions(name) | PLATFORM_ACTIONS[name]
    for s in doc["Statement"]:
        assert s["Effect"] == "Allow"
        if "*" in s["Resource"]:
            acts = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
            assert set(acts) <= STAR_OK, s["Sid"]
        else:
            assert all(r.startswith("arn:aws:") and ":eu-west-1:111122223333:" in r for r in s["Resource"]), s


def test_ecs_resources_are_scoped_to_the_configured_clusters():
    doc = expanded_policy("ecs_drain")
    ecs = [r for s in doc["Statement"] for r in s["Resource"] if r.startswith("arn:aws:ecs")]
    assert ecs and all(re.search(r":(cluster|container-instance|task)/(prod|batch)(/\*)?$", r) for r in ecs)
    asg = [r for s in doc["Statement"] for r in s["Resource"] if r.startswith("arn:aws:autoscaling")]
    assert asg == ["arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:*:autoScalingGroupName/prod-asg"]


@pytest.mark.parametrize(("name", "tf"), [("ecs_drain", "ecs_drain.tf"), ("ecs_agent_watch", "ecs_agent_watch.tf")])
def test_terraform_passes_every_setting_the_handler_reads(name, tf):
    text = (TF / tf).read_text()
    read = set(re.findall(r'(?:env\.get|number)\("([A-Z_]+)"', sources(name)))
    env_block = re.search(r"environment \{\s*variables = \{(.*?)\}\s*\}", text, re.DOTALL).group(1)
    passed = set(re.findall(r"^\s*([A-Z_]+)\s*=", env_block, re.MULTILINE))
    assert passed == read
    assert 'handler          = "handler.handler"' in text
    assert f'lambdas/{name}"' in text and f"dist/{name}.zip" in text and "iam_policy.json" in text


def test_terraform_hook_topic_queue_and_schedule():
    drain = (TF / "ecs_drain.tf").read_text()
    assert 'lifecycle_transition   = "autoscaling:EC2_INSTANCE_TERMINATING"' in drain
    assert 'default_result          = "CONTINUE"' in drain
    assert 'function_response_types = ["ReportBatchItemFailures"]' in drain
    assert "notification_target_arn = aws_sns_topic.ecs_drain.arn" in drain
    watch = (TF / "ecs_agent_watch.tf").read_text()
    assert "schedule_expression = var.ecs_agent_watch_schedule" in watch
    assert 'metric_name         = "DisconnectedAgents"' in watch and 'treat_missing_data  = "breaching"' in watch
    # no provider/terraform blocks here: versions.tf owns them
    for f in ("ecs_drain.tf", "ecs_agent_watch.tf", "variables_ecs.tf", "outputs_ecs.tf"):
        assert not re.search(r"^(provider|terraform)\s", (TF / f).read_text(), re.MULTILINE), f


@pytest.mark.skipif(not BUILD.exists(), reason="lambdas/build_zip.py not there yet")
@pytest.mark.parametrize("name", sorted(LAMBDAS))
def test_zip_builds_and_runs_from_the_zip_alone(tmp_path, name):
    out = subprocess.run([sys.executable, str(BUILD), "--out", str(tmp_path), name],
                         check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    z = tmp_path / f"{name}.zip"
    names = zipfile.ZipFile(z).namelist()
    assert names == sorted(p.name for p in (REPO / "lambdas" / name).glob("*.py"))
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(
        {"Service": "AWS Auto Scaling", "Event": "autoscaling:TEST_NOTIFICATION", "AutoScalingGroupName": "g"})}}]}
    code = (f"import sys, json; sys.path.insert(0, {str(z)!r}); import handler; "
            "assert handler.__file__.startswith(sys.path[0]); ")
    if name == "ecs_drain":
        code += f"print(handler.handler({event!r}, None)['outcomes'])"
        expect = "['test_notification']"
    else:
        code += "print(handler.Config.from_env().clusters)"
        expect = "('a', 'b')"
    run = subprocess.run([sys.executable, "-I", "-c", code], check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "RECHECK_QUEUE_URL": "https://sqs.invalid/q",
                              "CLUSTERS": "a b", "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == expect


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not installed")
def test_terraform_files_parse_and_are_formatted(tmp_path):
    """`terraform fmt -check` parses the HCL offline (validate would need the provider download)."""
    files = ["ecs_drain.tf", "ecs_agent_watch.tf", "variables_ecs.tf", "outputs_ecs.tf"]
    for f in files:
        shutil.copy(TF / f, tmp_path / f)
    out = subprocess.run(["terraform", "fmt", "-check", "-list=true", *files], cwd=tmp_path, check=False,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
