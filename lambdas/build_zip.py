"""Build one deployment zip per Lambda: every ``lambdas/<name>/handler.py`` directory becomes
``dist/<name>.zip`` holding that directory's Python modules and nothing else.

Why this shape:
  * The Lambda Python runtime already ships boto3/botocore; anything else would have to be
    vendored, so a module importing anything outside the standard library, boto3/botocore or
    its own directory fails the build (caught here, not at 3 a.m. in an ImportModuleError).
  * Deterministic bytes (sorted entries, fixed timestamps and modes, fixed compression): an
    unchanged handler gives the same zip and the same hash, so Terraform's
    ``source_code_hash`` does not redeploy on every build.

Usage: ``python lambdas/build_zip.py [--root lambdas] [--out dist] [NAME ...]``; exit 1 if a
Lambda imports something the runtime lacks.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "awslambdaric"})
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = frozenset({"__pycache__", "tests", "test"})


@dataclass(frozen=True)
class Built:
    name: str
    path: Path
    files: tuple[str, ...]
    sha256_b64: str  # what Terraform's filebase64sha256() gives


def modules_of(src: Path) -> list[Path]:
    """The .py files that go in the zip: the directory's modules and packages, no tests."""
    out = []
    for p in sorted(src.rglob("*.py")):
        rel = p.relative_to(src)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if rel.name.startswith("test_") or rel.name == "conftest.py":
            continue
        out.append(p)
    return out


def foreign_imports(src: Path, files: list[Path]) -> list[str]:
    """Top-level imports that are neither stdlib, runtime-provided, nor shipped in the zip."""
    local = {p.relative_to(src).parts[0].removesuffix(".py") for p in files}
    allowed = set(sys.stdlib_module_names) | RUNTIME_PROVIDED | local | {"__future__"}
    bad = []
    for p in files:
        tree = ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] not in allowed:
                    bad.append(f"{p.relative_to(src.parent)}:{node.lineno}: imports {name}")
    return bad


def build_one(src: Path, out_dir: Path) -> Built:
    files = modules_of(src)
    bad = foreign_imports(src, files)
    if bad:
        raise SystemExit("the Lambda runtime has only the standard library and boto3:\n  " + "\n  ".join(bad))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{src.name}.zip"
    tmp = target.with_suffix(".zip.tmp")
    names = []
    with zipfile.ZipFile(tmp, "w") as zf:
        for p in files:
            arc = p.relative_to(src).as_posix()
            info = zipfile.ZipInfo(arc, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below is honoured
            info.external_attr = 0o100644 << 16
            zf.writestr(info, p.read_bytes(), compresslevel=9)
            names.append(arc)
    tmp.replace(target)
    digest = base64.b64encode(hashlib.sha256(target.read_bytes()).digest()).decode()
    return Built(src.name, target, tuple(names), digest)


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=here, help="directory holding <name>/handler.py")
    ap.add_argument("--out", type=Path, default=here.parent / "dist", help="where the zips go")
    ap.add_argument("names", nargs="*", help="only these Lambdas (default: all)")
    args = ap.parse_args(argv)
    dirs = sorted(p.parent for p in args.root.glob("*/handler.py"))
    if args.names:
        unknown = set(args.names) - {d.name for d in dirs}
        if unknown:
            ap.error(f"no handler.py under {args.root} for: {', '.join(sorted(unknown))}")
        dirs = [d for d in dirs if d.name in args.names]
    if not dirs:
        print(f"no */handler.py under {args.root}", file=sys.stderr)
        return 1
    try:
        for d in dirs:
            b = build_one(d, args.out)
            print(f"{b.path}: {len(b.files)} file(s) ({', '.join(b.files)}), sha256 {b.sha256_b64}")
    except SystemExit as exc:
        print(f"build_zip: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
