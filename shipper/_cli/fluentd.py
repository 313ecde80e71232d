"""`shipper fluentd render`: write (or check) the fluentd image's generated files from the registry.

fluent.conf and the plugins in fluentd/plugins/ (shipper.render.fluentd.image_files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cli import CliError
from ._common import REGISTRY_HELP

CONFIG_PATH = "fluentd/fluent.conf"
COMMAND = "shipper fluentd render"


def register(groups: Any) -> None:
    p = groups.add_parser("fluentd", help="the fluentd config and plugins generated from the registry",
                          description="The fluentd image's config and plugins, generated from the registry.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    r = sub.add_parser("render", help="write fluentd/fluent.conf and fluentd/plugins/*.rb from the registry",
                       description="Render the fluentd config and its plugins from the registry into "
                                   "fluentd/ (or --root); with --check, write nothing and exit 1 if a "
                                   "file differs from a fresh render.")
    r.add_argument("--check", action="store_true", help="compare only; exit 1 if a file is stale")
    r.add_argument("--output", type=Path, default=None,
                   help=f"only the config, to this file ('-' prints it to stdout) instead of {CONFIG_PATH}")
    r.add_argument("--root", type=Path, default=None,
                   help="project root to write into (default: the registry's parent)")
    r.add_argument("--registry", type=Path, default=None, help=REGISTRY_HELP)
    r.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    from ..render.fluentd import image_files
    from ._common import writable_root
    from .schemas import _checked

    registry = _checked(args)
    files = image_files()
    if args.output is not None:
        files = [f for f in files if f.path == CONFIG_PATH]
    try:
        rendered = [(f.path, f.render(registry)) for f in files]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.output is not None and str(args.output) == "-":
        if args.check:
            raise CliError("--check needs a file, not '-'")
        sys.stdout.write(rendered[0][1])
        return 0
    root = None if args.output is not None else writable_root(args, registry, args.root)
    stale = 0
    for rel, text in rendered:
        path = args.output if args.output is not None else root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if args.check:
            if current != text:
                state = "is missing" if current is None else "differs from a fresh render of the registry"
                print(f"{path} {state}", file=sys.stderr)
                stale += 1
            continue
        if current == text:
            print(f"unchanged {path}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    if stale:
        raise CliError(f"{stale} file(s) stale; run `{COMMAND}` and commit the result")
    if args.check:
        print(f"ok: {', '.join(rel for rel, _ in rendered)} up to date")
    return 0
