"""The repository stands alone, and its docs point only at what is in it.

A user clones the repository by itself, from a code host: nothing `make test` or `make demo`
runs may read a folder beside it, and a doc that names a file names one the clone has.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Written in pieces so that this file does not name what it looks for.
OUTSIDE = re.compile("|".join(re.escape(a + b) for a, b in (("../", "shared"), ("shared/", "fixtures"),
                                                              ("/work/", "shared"))))


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--", *patterns], cwd=REPO, capture_output=True,
                         check=True).stdout.decode()
    return [REPO / p for p in out.split("\0") if p]


def test_no_file_reads_a_folder_beside_the_repository() -> None:
    # .ci/run may install a tool from the folder beside the clone (tests skip, with a reason,
    # without it);
    # READMEs may say where a copied file came from.
    offenders = []
    for path in tracked():
        rel = path.relative_to(REPO).as_posix()
        if rel == ".ci/run" or rel.endswith(".md") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if OUTSIDE.search(text):
            offenders.append(rel)
    assert offenders == []


# Markdown links [text](target) and backticked repository paths such as `docs/registry.md`.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Files a walk-through creates (docs/registry.md's example table): they are not in the repository.
EXAMPLES = ("payment_log",)
PATH = re.compile(r"`((?:docs|shipper|schemas|fluentd|lambdas|deploy|demo|bench|tests)/[A-Za-z0-9_./-]+)`")


def _exists(base: Path, target: str) -> bool:
    target = target.split("#", 1)[0]
    if not target or re.match(r"[a-z]+:", target):  # an anchor, or a URL
        return True
    return (base / target).exists() or (REPO / target).exists()


@pytest.mark.parametrize("doc", tracked("*.md"), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_file_a_doc_names_is_in_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [t for t in LINK.findall(text) if not _exists(doc.parent, t)]
    for path in PATH.findall(text):
        if "*" in path or "<" in path or "{" in path or any(e in path for e in EXAMPLES):
            continue
        if not (REPO / path.rstrip("/.")).exists() and not any(REPO.glob(path.rstrip("/.") + "*")):
            missing.append(path)
    assert missing == []


def test_the_demo_runs_every_stage_from_a_clone_alone(tmp_path: Path) -> None:
    """`git clone` of this commit into a folder with nothing beside it: every demo stage runs."""
    clone = tmp_path / "alone" / "logbridge"
    subprocess.run(["git", "clone", "-q", "--no-local", str(REPO), str(clone)], check=True)
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHIPPER_", "LOGBRIDGE_"))}
    env["PYTHONPATH"] = str(clone)  # the clone's own package, ahead of the installed one
    proc = subprocess.run([sys.executable, "demo/run.py"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = proc.stdout.split("=== demo summary", 1)[1]
    stages = re.findall(r"^  (\w+)\s+[\d.]+ s  (.*)$", summary, re.M)
    assert len(stages) >= 6 and all(status == "ok" for _, status in stages), summary


def test_the_library_doc_lists_every_rule_a_violation_can_carry() -> None:
    from shipper._errors import RULES

    text = (REPO / "docs" / "library.md").read_text(encoding="utf-8")
    assert [r for r in RULES if f"`{r}`" not in text] == []
