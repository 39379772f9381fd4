"""Commands: ``callcenter staffing calc|lines|plan``, ``callcenter report`` and
``callcenter report-send``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.metrics.erlang import erlang_b
from callcenter.metrics.export import render, table_lines, to_xlsx
from callcenter.metrics.kpis import Thresholds
from callcenter.metrics.report import GROUPINGS, ReportSpec
from callcenter.metrics.settings import MetricsCommandsContext
from callcenter.metrics.staffing import (
    Roster,
    agents_needed,
    interval_needs,
    roster_from_counter,
    roster_from_csv,
)

# The settings arrive from the ``callcenter`` command, which reads and validates the
# file on the first call (a command that needs none never reads it).
SettingsLoader = Callable[[], MetricsCommandsContext]


def register(subparsers: Any) -> None:
    staffing = subparsers.add_parser("staffing", help="Erlang staffing / 排班测算")
    commands = staffing.add_subparsers(dest="staffing_command", required=True)

    calc = commands.add_parser("calc", help="agents needed for a service level (Erlang C/A)")
    calc.add_argument("--calls-per-hour", type=_non_negative, required=True)
    calc.add_argument("--aht", type=_positive, required=True, help="average handling time, s")
    calc.add_argument("--sl-seconds", type=_non_negative, default=20.0)
    calc.add_argument("--sl-target", type=_fraction, default=0.80)
    calc.add_argument("--patience", type=_positive, help="mean caller patience, s (Erlang A)")
    calc.add_argument("--answer-rate-target", type=_fraction, help="with --patience")
    calc.add_argument("--format", choices=("json", "table"), default="json")
    calc.set_defaults(func=cmd_calc)

    lines = commands.add_parser("lines", help="blocking probability for a line count (Erlang B)")
    lines.add_argument("--erlangs", type=_non_negative, required=True)
    lines.add_argument("--lines", type=int, required=True)
    lines.add_argument("--format", choices=("json", "table"), default="json")
    lines.set_defaults(func=cmd_lines)

    plan = commands.add_parser("plan", help="history-based needs per interval against a roster")
    _add_range(plan)
    plan.add_argument("--roster", help="CSV with columns start,agents (local YYYY-MM-DD HH:MM)")
    plan.add_argument("--patience", type=_positive, help="mean patience, s (default: history)")
    plan.add_argument("--format", choices=("json", "table"), default="table")
    plan.set_defaults(func=cmd_plan)

    report = subparsers.add_parser("report", help="answer-rate report / 接通率报表")
    _add_range(report)
    report.add_argument("--by", choices=GROUPINGS, default="interval")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("--xlsx", help="also write the report to this .xlsx file")
    report.add_argument("--lang", choices=("zh", "en"), default="zh")
    report.set_defaults(func=cmd_report)

    send = subparsers.add_parser(
        "report-send", help="deliver a scheduled report run now / 立即生成并发送定时报表"
    )
    send.add_argument("--period", choices=("daily", "weekly"), required=True)
    send.add_argument("--day", type=_date, required=True, help="daily: the day; weekly: its Monday")
    send.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    send.set_defaults(func=cmd_report_send)

    metrics = subparsers.add_parser("metrics", help="report rollups / 报表汇总表")
    metrics_commands = metrics.add_subparsers(dest="metrics_command", required=True)
    rebuild = metrics_commands.add_parser(
        "rebuild", help="recompute the 15-minute rollups from the calls (then kept as calls end)"
    )
    _add_range(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", type=_date, required=True, help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", type=_date, required=True, help="inclusive")
    parser.add_argument("--interval", type=int, choices=(15, 30, 60), help="minutes")
    parser.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


# --- commands ------------------------------------------------------------------------------


def cmd_calc(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    if args.answer_rate_target is not None and args.patience is None:
        return _fail("--answer-rate-target needs --patience (Erlang A) / 需要同时给出 --patience")
    staffing = agents_needed(
        args.calls_per_hour,
        args.aht,
        args.sl_seconds,
        args.sl_target,
        patience_s=args.patience,
        answer_rate_target=args.answer_rate_target,
    )
    body = staffing.as_dict()
    if args.format == "json":
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(table_lines(["项目 / item", "值 / value"], [[k, _show(v)] for k, v in body.items()]))
    return 0


def cmd_lines(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    if args.lines < 0:
        return _fail(f"--lines must not be negative, got {args.lines} / 线路数不能为负")
    body = {
        "erlangs": args.erlangs,
        "lines": args.lines,
        "blocking": erlang_b(args.erlangs, args.lines),
    }
    if args.format == "json":
        print(json.dumps(body))
    else:
        print(table_lines(["项目 / item", "值 / value"], [[k, _show(v)] for k, v in body.items()]))
    return 0


def cmd_report(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    spec = _spec(settings, args, args.by)
    report = _report_store(settings).report(spec)
    print(render(report, args.format, args.lang))
    if args.xlsx:
        with open(args.xlsx, "wb") as handle:
            handle.write(to_xlsx(report, args.lang))
    return 0


def cmd_report_send(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    """One run of ``metrics.scheduled_reports`` by hand (a day or week the schedule missed),
    delivered where the settings say; prints the files' names."""
    from callcenter.db import create_engine_for
    from callcenter.metrics.agent_store import AgentFiguresStore
    from callcenter.metrics.report_schedule import Run
    from callcenter.metrics.report_scheduler import ReportScheduler
    from callcenter.metrics.report_store import ReportStore

    settings = settings_loader()
    schedule = settings.metrics.scheduled_reports
    if not (schedule.folder or schedule.webhook_url):
        return _fail(
            "metrics.scheduled_reports needs a folder or a webhook_url / 未设置报表目录或 webhook"
        )
    if args.period == "weekly" and args.day.weekday() != 0:
        return _fail(f"--day must be a Monday for a weekly run, got {args.day} / 周报须从周一开始")
    last = args.day + timedelta(days=6 if args.period == "weekly" else 0)
    engine = create_engine_for(settings.database.url)
    try:
        scheduler = ReportScheduler(
            schedule, reports=ReportStore(engine), agents=AgentFiguresStore(engine),
            thresholds=_thresholds(settings), zone=settings.timezone,
            interval_min=settings.metrics.interval_min,
        )  # fmt: skip
        files = asyncio.run(scheduler.deliver(Run(args.period, args.day, last)))
    finally:
        engine.dispose()
    for report_file in files:
        print(report_file.name)
    return 0


def cmd_rebuild(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    spec = _spec(settings, args, "interval")
    _report_store(settings).rebuild(spec.since, spec.until, spec.thresholds)
    print(f"rollups rebuilt / 汇总已重算: {args.date_from} .. {args.date_to}")
    return 0


def cmd_plan(args: argparse.Namespace, settings_loader: SettingsLoader) -> int:
    settings = settings_loader()
    spec = _spec(settings, args, "interval")
    report = _report_store(settings).report(spec)
    patience = args.patience or settings.metrics.patience_s or report.total.tally.patience_s
    roster, roster_note = _roster(settings, args.roster)
    zone = ZoneInfo(settings.timezone)
    width = spec.interval_min * 60
    intervals = []
    for row in report.rows:
        start = datetime.strptime(row.key, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()
        intervals.append((row.key, start, start + width, row.tally))
    targets = settings.targets
    needs = interval_needs(
        intervals,
        sl_seconds=targets.service_level_s,
        sl_target=min(targets.service_level_target, 0.999),
        answer_rate_target=min(targets.answer_rate, 0.999),
        default_aht_s=report.total.tally.aht_s or 180.0,
        patience_s=patience,
        roster=roster,
    )
    rows = [need.as_dict() for need in needs]
    if args.format == "json":
        body = {"patience_s": patience, "roster": roster_note, "intervals": rows}
        print(json.dumps(body, ensure_ascii=False))
        return 0
    headers = list(rows[0]) if rows else ["interval"]
    print(table_lines(headers, [[_show(r[h]) for h in headers] for r in rows]))
    print(f"\n{roster_note}")
    return 0


def _roster(settings: MetricsCommandsContext, csv_path: str | None) -> tuple[Roster | None, str]:
    """The --roster CSV when given, else the routing roster (rostered and not on a break)."""
    if csv_path:
        return roster_from_csv(csv_path, settings.timezone), f"排班 / roster: {csv_path}"
    try:
        from callcenter.routing.loading import load_routing
        from callcenter.routing.staffing import count_available

        data = load_routing(settings.routing, settings.timezone)
    except Exception as exc:  # no routing files: needs only
        return None, f"未读取到排班，只列出所需人数 / no roster ({exc}): needs only"
    roster = data.roster
    return (
        roster_from_counter(lambda at: count_available(roster, at)),
        f"排班 / roster: {settings.routing.roster_file}",
    )


# --- helpers -------------------------------------------------------------------------------


def _spec(settings: MetricsCommandsContext, args: argparse.Namespace, by: str) -> ReportSpec:
    zone = ZoneInfo(settings.timezone)
    if args.date_to < args.date_from:
        raise SystemExit("error: --to comes before --from / 结束日期早于开始日期")
    since = datetime.combine(args.date_from, time(0), zone).timestamp()
    until = datetime.combine(args.date_to + timedelta(days=1), time(0), zone).timestamp()
    return ReportSpec(
        since=since,
        until=until,
        by=by,  # type: ignore[arg-type]
        interval_min=args.interval or settings.metrics.interval_min,
        zone=settings.timezone,
        thresholds=_thresholds(settings),
    )


def _thresholds(settings: MetricsCommandsContext) -> Thresholds:
    return Thresholds.from_targets(
        settings.targets,
        wrapup_s=settings.metrics.wrapup_s,
        high_lines_fraction=settings.metrics.high_lines_fraction,
    )


def _report_store(settings: MetricsCommandsContext) -> Any:
    from callcenter.db import create_engine_for
    from callcenter.metrics.report_store import ReportStore

    return ReportStore(create_engine_for(settings.database.url))


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return "-" if value is None else str(value)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date YYYY-MM-DD: {text!r} / 日期格式应为 YYYY-MM-DD"
        ) from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r} / 不是数字") from None


def _number_unless(refused: Callable[[float], bool], en: str, zh: str) -> Callable[[str], float]:
    """An argparse type: a number, unless ``refused`` (then the rule in English and Chinese)."""

    def parse(text: str) -> float:
        value = _number(text)
        if refused(value):
            raise argparse.ArgumentTypeError(f"{en}, got {text} / {zh}")
        return value

    return parse


_positive = _number_unless(lambda v: v <= 0, "must be positive", "必须大于 0")
_non_negative = _number_unless(lambda v: v < 0, "must not be negative", "不能为负")
_fraction = _number_unless(
    lambda v: not 0 <= v < 1, "must be between 0 and 1 (e.g. 0.8)", "应在 0 到 1 之间"
)
