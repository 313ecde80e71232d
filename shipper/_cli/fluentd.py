"""`shipper fluentd render`: write (or check) fluentd/fluent.conf from the registry."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cli import CliError

CONFIG_PATH = "fluentd/fluent.conf"
COMMAND = "shipper fluentd render"


def register(groups: Any) -> None:
    p = groups.add_parser("fluentd", help="the fluentd config generated from the registry",
                          description="The fluentd image's config, generated from the registry.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    r = sub.add_parser("render", help=f"write {CONFIG_PATH} from the registry",
                       description=f"Render the fluentd config from the registry into {CONFIG_PATH} "
                                   "(or --output); with --check, write nothing and exit 1 if the "
                                   "file differs from a fresh render.")
    r.add_argument("--check", action="store_true", help="compare only; exit 1 if the file is stale")
    r.add_argument("--output", type=Path, default=None,
                   help=f"the file to write or check (default: {CONFIG_PATH} in the project root; "
                        "'-' prints to stdout)")
    r.add_argument("--registry", type=Path, default=None,
                   help="the schemas/ directory (default: SHIPPER_REGISTRY, else ./schemas here or "
                        "in the nearest parent, else the packaged one)")
    r.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    from ..render.fluentd import render
    from ._common import writable_root
    from .schemas import _checked

    registry = _checked(args)
    try:
        text = render(registry)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.output is not None and str(args.output) == "-":
        if args.check:
            raise CliError("--check needs a file, not '-'")
        sys.stdout.write(text)
        return 0
    path = args.output or writable_root(args, registry, None) / CONFIG_PATH
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        if current != text:
            state = "is missing" if current is None else "differs from a fresh render of the registry"
            raise CliError(f"{path} {state}; run `{COMMAND}` and commit the result")
        print(f"ok: {path} is up to date")
        return 0
    if current == text:
        print(f"unchanged {path}")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0
