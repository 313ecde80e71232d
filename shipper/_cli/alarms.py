"""`shipper alarms plan|apply`: fluentd's CloudWatch alarms, diffed against the account first."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import CliError


def register(groups: Any) -> None:
    p = groups.add_parser("alarms", help="create or update fluentd's CloudWatch alarms",
                          description="CloudWatch alarms on the metrics lambdas/fluentd_metrics publishes: "
                                      "per output retries rising, queued bytes, buffer space, chunks dropped, "
                                      "BigQuery insert errors and chunks written to <secondary>; and no status "
                                      "lines at all, records sent to @ERROR, metrics over budget.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, func, text in (
        ("plan", cmd_plan, "show which alarms apply would create, update or delete"),
        ("apply", cmd_apply, "create or update the alarms (delete stale ones under the prefix with --prune)"),
    ):
        c = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        c.add_argument("--plugin-id", action="append", required=True, metavar="ID", dest="plugin_ids",
                       help="a fluentd output's @id to watch (repeatable)")
        c.add_argument("--namespace", default="fluentd", help="the handler's METRICS_NAMESPACE (default fluentd)")
        c.add_argument("--prefix", default="fluentd", help="alarm name prefix (default fluentd)")
        c.add_argument("--period", type=int, default=60, help="seconds per period (default 60)")
        c.add_argument("--retry-periods", type=int, default=3, metavar="N",
                       help="alarm when retries rise in N consecutive periods (default 3)")
        c.add_argument("--queued-bytes-threshold", type=float, default=64 * 1024 * 1024, metavar="BYTES",
                       help="alarm above this many buffered bytes (default 64 MiB)")
        c.add_argument("--space-ratio-threshold", type=float, default=20.0, metavar="PERCENT",
                       help="alarm under this available buffer space (default 20)")
        c.add_argument("--missing-periods", type=int, default=5, metavar="N",
                       help="alarm after N periods without a status line (default 5)")
        c.add_argument("--alarm-action", action="append", default=[], metavar="ARN", dest="actions",
                       help="SNS topic ARN notified on ALARM and OK (repeatable)")
        c.add_argument("--prune", action="store_true",
                       help="also delete alarms under the prefix that are no longer wanted")
        c.add_argument("--region", default=None, help="AWS region (default: the SDK's)")
        c.add_argument("--endpoint-url", default=None, help="CloudWatch endpoint (e.g. a local moto server)")
        c.set_defaults(func=func)


def _plan(args: argparse.Namespace):
    from ..alarms import AlarmError, AlarmSettings, client, plan

    settings = AlarmSettings(
        plugin_ids=tuple(args.plugin_ids), namespace=args.namespace, prefix=args.prefix, period=args.period,
        retry_periods=args.retry_periods, queued_bytes_threshold=args.queued_bytes_threshold,
        space_ratio_threshold=args.space_ratio_threshold, missing_periods=args.missing_periods,
        actions=tuple(args.actions))
    try:
        settings.check()
        cw = client(args.region, args.endpoint_url)
        return plan(cw, settings, prune=args.prune), cw
    except AlarmError as exc:
        raise CliError(str(exc)) from None


def _print(p) -> None:
    from ..alarms import CREATE, DELETE, UNCHANGED, UPDATE, describe

    for c in p.changes:
        for line in describe(c):
            print(line)
    print(f"Plan: {p.count(CREATE)} to create, {p.count(UPDATE)} to update, {p.count(DELETE)} to delete, "
          f"{p.count(UNCHANGED)} unchanged.")


def cmd_plan(args: argparse.Namespace) -> int:
    p, _ = _plan(args)
    _print(p)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from ..alarms import AlarmError, apply

    p, cw = _plan(args)
    _print(p)
    try:
        done = apply(cw, p)
    except AlarmError as exc:
        raise CliError(str(exc)) from None
    print(f"Applied: {len(done)} alarm(s) changed." if done else "Applied: no changes.")
    return 0
