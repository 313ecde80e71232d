"""fluentd/Dockerfile linted by rule: pinned versions, non-root, no secrets, health check.

The image itself cannot be built here (no Docker engine); fluentd/README.md says so.
"""

from __future__ import annotations

import json
import re

import pytest
from support import REPO

DOCKERFILE = REPO / "fluentd" / "Dockerfile"
REQUIRED_GEMS = {"fluent-plugin-bigquery": "3.", "fluent-plugin-concat": "2."}


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        out.append((op.upper(), rest.strip()))
    return out


@pytest.fixture(scope="module")
def ins():
    return instructions()


def test_base_image_is_the_official_fluentd_v1_19_debian_pinned(ins):
    froms = [r for op, r in ins if op == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"fluent/fluentd:v1\.19\.\d+-debian-\d+\.\d+(@sha256:[0-9a-f]{64})?", froms[0]), froms[0]
    assert "latest" not in froms[0]


def test_plugins_are_pinned(ins):
    args = dict(r.split("=", 1) for op, r in ins if op == "ARG" and "=" in r)
    runs = " ".join(r for op, r in ins if op == "RUN")
    installs = re.findall(r"gem install\s+(?:--no-document\s+)?(\S+)\s+-v\s+\"?\$\{?(\w+)\}?\"?", runs)
    assert {g for g, _ in installs} == set(REQUIRED_GEMS)
    for gem, var in installs:
        version = args[var]
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (gem, version)
        assert version.startswith(REQUIRED_GEMS[gem])
    assert len(re.findall(r"gem install", runs)) == len(installs), "every gem install pins -v"
    assert "latest" not in DOCKERFILE.read_text().lower().replace("# ", "")


def test_runs_as_the_fluent_user(ins):
    users = [r for op, r in ins if op == "USER"]
    assert users and users[-1] == "fluent"


def test_has_a_health_check(ins):
    (hc,) = [r for op, r in ins if op == "HEALTHCHECK"]
    assert "CMD" in hc and "LOGBRIDGE_MONITOR_PORT', '24220'" in hc
    assert "LOGBRIDGE_MONITOR_PORT'] || '24220'" in (REPO / "fluentd" / "fluent.conf").read_text()
    cmd = json.loads(hc.split("CMD", 1)[1])
    assert cmd[:3] == ["ruby", "-rnet/http", "-e"]


def test_runs_the_generated_config_with_its_plugins(ins):
    (cmd,) = [r for op, r in ins if op == "CMD"]
    assert json.loads(cmd) == ["fluentd", "-c", "/fluentd/etc/fluent.conf"]
    copies = {tuple(r.split()) for op, r in ins if op == "COPY"}
    # the plugins beside the config: fluent.conf loads them from there (no -p)
    assert copies == {("fluent.conf", "/fluentd/etc/fluent.conf"), ("plugins/", "/fluentd/etc/plugins/")}


SECRET = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)", re.IGNORECASE)


def test_no_secrets_in_the_image(ins):
    for op, rest in ins:
        if op in ("ENV", "ARG", "LABEL"):
            for name in re.findall(r"(\w+)=", rest) or [rest.split()[0]]:
                assert not SECRET.search(name), f"{op} {rest}"
        if op in ("COPY", "ADD"):
            assert not re.search(r"\.json\b(?!.*schemas)|\.pem|\.p12|key|cred|\.env", rest, re.IGNORECASE), rest
            assert not rest.startswith("--from"), rest
    assert all(op != "ADD" for op, _ in ins), "use COPY, not ADD"
    copied = {r.split()[0] for op, r in ins if op == "COPY"}
    assert copied == {"fluent.conf", "plugins/"}


def test_dockerignore_lets_in_only_the_config_and_plugins():
    lines = [x for x in (REPO / "fluentd" / ".dockerignore").read_text().splitlines()
             if x and not x.startswith("#")]
    assert lines[0] == "*"
    assert all(x.startswith("!") for x in lines[1:])


def test_readme_says_the_image_was_not_built_here():
    readme = (REPO / "fluentd" / "README.md").read_text()
    assert "no Docker engine" in readme
    for word in ("fluentd-address", "fluentd-async", "fluentd-sub-second-precision", "awslogs",
                 "tag", "docker build"):
        assert word in readme
