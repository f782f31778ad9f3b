"""Command line for scheduled jobs: the same imports and numbers as the pages, no browser.

Why: an analyst refreshes the workspace from a nightly export and pulls KPIs into
other tools. Every subcommand calls the same ``lib`` functions the pages call and
takes ``--db PATH``; bad input exits non-zero with a one-line reason and writes
nothing. Run ``python -m lib.cli --help``.

Each command imports what it needs inside its function: ``segments --export
out.csv`` streams DuckDB's rows to the file and loads neither pandas nor Altair,
openpyxl or SciPy (a quarter of a second of a two-second nightly export).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from lib.formatting import CURRENCIES
from lib.workspace import Workspace, WorkspaceError, resolve_db_path

if TYPE_CHECKING:
    from lib.importing import Kind
    from lib.importing.inplace import ParquetOrders
    from lib.segments import SegmentSettings, SourceLike
    from lib.sql_engine import Engine


class CliError(Exception):
    """A one-line reason to print before exiting with status 2."""


def _open(args: argparse.Namespace, *, memory_limit: str = "4GB") -> Workspace:
    return Workspace(resolve_db_path(args.db), memory_limit=memory_limit)


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"not a date (use YYYY-MM-DD): {text!r}") from exc


def _import(args: argparse.Namespace, kind: Kind) -> int:
    from lib import importing

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    mapping = importing.load_mapping_file(args.mapping) if args.mapping else None
    ws = _open(args, memory_limit=importing.limits.COMMIT_MEMORY_LIMIT)
    try:
        # An order file is read in place by DuckDB (memory bounded, up to importing.MAX_STREAM_ROWS rows).
        report = importing.import_file(
            ws, path if kind == "orders" else path.read_bytes(), path.name, kind, args.dataset, mapping=mapping,
            mode="replace" if args.replace else "append",
        )
        if args.currency:
            ws.set_currency(ws.get_dataset(args.dataset).dataset_id, args.currency)
    finally:
        ws.close()
    summary = {
        "dataset": args.dataset, "file": path.name, "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted, "rows_rejected": report.rows_rejected, **report.stats,
    }
    print(json.dumps(summary, ensure_ascii=False, default=str))
    if report.rows_rejected and args.rejects:
        from lib.exports import csv_bytes  # formula-safe: a rejected cell may hold anything the file held

        Path(args.rejects).write_bytes(csv_bytes(report.rejected))
    return 0


def cmd_import_orders(args: argparse.Namespace) -> int:
    return _import(args, "orders")


def cmd_import_channels(args: argparse.Namespace) -> int:
    return _import(args, "channels")


def cmd_add_parquet(args: argparse.Namespace) -> int:
    """Register a Parquet file or folder as a dataset whose orders are read in place (lib.importing.inplace)."""
    from lib import importing
    from lib.importing import inplace

    # The command line is the administrator's tool: it may register any folder (the workspace is opened
    # unlocked for this one write); the app, locked, may then read the folders registered here.
    ws = Workspace(resolve_db_path(args.db), locked=False)
    try:
        resolved, columns = ws.parquet_columns(args.path)
        mapping = importing.load_mapping_file(args.mapping) if args.mapping else inplace.suggest_mapping(columns)
        ws.register_parquet(args.name, resolved, mapping)
        dataset = ws.get_dataset(" ".join(args.name.split()))
        source = ws.parquet_orders(dataset.dataset_id)
    except inplace.InPlaceError as exc:
        raise CliError(str(exc)) from exc
    except duckdb.Error as exc:
        raise CliError(f"could not read the orders: {' '.join(str(exc).split())[:300]}") from exc
    finally:
        ws.close()
    print(json.dumps({
        "dataset": dataset.name, "path": resolved, "files": len(inplace.parquet_files(resolved)),
        "mapping": dict(source.mapping) if source else {}, "orders": dataset.orders, "customers": dataset.customers,
        "first_order": dataset.first_order, "last_order": dataset.last_order,
    }, ensure_ascii=False, default=str))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    if getattr(args, "datasets_action", None) == "add-parquet":
        return cmd_add_parquet(args)
    ws = _open(args)
    try:
        rows = [
            {
                "name": d.name, "sample": d.is_sample, "orders": d.orders, "customers": d.customers,
                "first_order": d.first_order, "last_order": d.last_order, "channel_rows": d.channel_rows,
                "first_period": d.first_period, "last_period": d.last_period, "currency": d.currency,
            }
            for d in ws.list_datasets()
        ]
    finally:
        ws.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
    else:
        for r in rows:
            span = f"{r['first_order']} – {r['last_order']}" if r["first_order"] else "no orders"
            print(f"{r['name']}\t{r['orders']} orders\t{r['customers']} customers\t{span}\t{r['channel_rows']} channel rows"
                  f"\t{r['currency']}")
    return 0


def _parquet_engine(args: argparse.Namespace) -> Engine:
    """The engine ``--engine`` names, for orders read in place from ``--parquet`` (checked first: one-line reasons).

    Orders too big to import are read by an engine of their own, a private in-memory DuckDB
    or Spark (the workspace's own connection refuses file access once it is locked down).
    """
    from lib import sql_engine

    location = Path(args.parquet)
    remote = "://" in args.parquet  # s3a://, hdfs://, abfss://…: only Spark can look
    if not remote and not location.exists() and not any(ch in args.parquet for ch in "*?["):
        raise CliError(f"no such Parquet file or folder: {args.parquet}")
    if remote and args.engine != "spark":
        raise CliError(f"{args.parquet} is not a local path: use --engine spark")
    try:
        return sql_engine.open_engine(args.engine, master=args.spark_master)
    except sql_engine.EngineUnavailable as exc:
        raise CliError(str(exc)) from exc


def _kpi_orders(args: argparse.Namespace, engine: Engine) -> tuple[ParquetOrders, str]:
    """The Parquet orders of ``kpis --parquet`` (mapped as ``datasets add-parquet`` maps them) and their name."""
    from lib import importing
    from lib.importing import inplace

    pattern = inplace.ParquetOrders(args.parquet).pattern
    columns = engine.parquet_columns(pattern)
    if not columns:
        raise CliError(f"could not read the orders: no readable Parquet files at {args.parquet}")
    mapping = importing.load_mapping_file(args.mapping) if args.mapping else inplace.suggest_mapping(sorted(columns))
    try:
        clean = inplace.clean_mapping(mapping, columns)
    except inplace.InPlaceError as exc:
        raise CliError(str(exc)) from exc
    return inplace.ParquetOrders(args.parquet, clean), Path(args.parquet).name or args.parquet


def cmd_kpis(args: argparse.Namespace) -> int:
    from lib import kpis, sql_engine

    if args.engine != "duckdb" and not args.parquet:
        raise CliError(f"--engine {args.engine} reads orders in place: give --parquet (the workspace is DuckDB's)")
    start, end = _parse_date(args.start), _parse_date(args.end)
    if (start is None) != (end is None):
        raise CliError("give both --start and --end, or neither")
    conn: Workspace | Engine = _parquet_engine(args) if args.parquet else _open(args)
    read_errors = sql_engine.query_errors() if args.parquet else ()
    try:
        dataset: kpis.Orders
        if isinstance(conn, Workspace):
            found = conn.get_dataset(args.dataset)
            dataset, name = found.dataset_id, found.name
        else:
            dataset, name = _kpi_orders(args, conn)
        span = kpis.data_range(conn, dataset)
        if span is None:
            raise CliError(f"dataset {name!r} has no data")
        period = kpis.Period(start, end) if start and end else kpis.default_period(*span)
        if period.end < period.start:
            raise CliError("--end is before --start")
        current = kpis.compute_kpis(conn, dataset, period)
        previous = kpis.compute_kpis(conn, dataset, period.previous())
    except read_errors as exc:  # a Parquet file without the needed columns, a corrupt file...
        raise CliError(f"could not read the orders: {' '.join(str(exc).split())[:300]}") from exc
    finally:
        conn.close()
    result: dict[str, Any] = {
        "dataset": name, "start": period.start, "end": period.end,
        "kpis": current.as_dict(), "previous": previous.as_dict(), "change": kpis.compare(current, previous),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str, indent=2))
    else:
        for key in kpis.KPI_KEYS:
            print(f"{key}\t{result['kpis'][key]}")
    return 0


def _segments_engine(args: argparse.Namespace) -> Workspace | Engine:
    """Where ``segments`` computes: the workspace, or for ``--parquet`` an engine of its own (:func:`_parquet_engine`)."""
    if args.engine != "duckdb" and not args.parquet:
        raise CliError(f"--engine {args.engine} reads orders in place: give --parquet (the workspace is DuckDB's)")
    return _parquet_engine(args) if args.parquet else _open(args)


def _segments_run(args: argparse.Namespace, conn: Workspace | Engine) -> tuple[SourceLike, SegmentSettings, str, date]:
    """The order source, the settings (saved ones, then the command's overrides), a name and the as-of date."""
    from dataclasses import replace

    from lib import segments

    source: segments.SourceLike
    if not isinstance(conn, Workspace):  # --parquet: an engine of its own
        source = segments.OrderSource.parquet(args.parquet, engine=conn)
        settings, name = segments.SegmentSettings(), Path(args.parquet).name or args.parquet
    else:
        # The id from the catalogue only: counting the dataset's customers first would be one more full scan.
        try:
            dataset_id = conn.dataset_id(args.dataset)
        except WorkspaceError as exc:
            raise CliError(str(exc)) from exc
        source, name = dataset_id, args.dataset
        settings = segments.load_settings(conn, dataset_id)
    settings = replace(
        settings, scheme=args.scheme or settings.scheme, window_days=args.window_days or settings.window_days,
    )
    as_of = _parse_date(args.as_of) or segments.default_as_of(conn, source)
    if as_of is None:
        raise CliError(f"dataset {name!r} has no orders")
    return source, settings, name, as_of


def cmd_segments(args: argparse.Namespace) -> int:
    """Export a segment list. Only DuckDB, pyarrow and the segment package are imported on the CSV path."""
    from lib import segments, sql_engine

    target = Path(args.export)
    if target.suffix.lower() not in (".xlsx", ".csv"):
        raise CliError("--export must end in .xlsx or .csv")
    conn = _segments_engine(args)
    try:
        source, settings, name, as_of = _segments_run(args, conn)
        # Both files stream to disk from the classification query (rows from DuckDB or Spark alike).
        if target.suffix.lower() == ".xlsx":
            segments.write_segment_workbook(conn, source, target, settings, as_of=as_of, lang=args.lang,
                                            scheme=settings.scheme, dataset_name=name)
            summary = segments.segment_summary(conn, source, settings, as_of, by=settings.scheme)
            counts = {str(g): int(n) for g, n in zip(summary["group"], summary["customers"])}
        else:  # one pass: the CSV's rows are counted by group on their way to the file
            counts = segments.export_segment_csv(conn, source, target, settings, as_of=as_of, lang=args.lang,
                                                 scheme=settings.scheme, group=args.group)
    except sql_engine.query_errors() as exc:  # a Parquet file without the needed columns, a corrupt file...
        raise CliError(f"could not read the orders: {' '.join(str(exc).split())[:300]}") from exc
    finally:
        conn.close()
    if args.group:
        counts = {k: v for k, v in counts.items() if k == args.group}
    print(json.dumps({"file": str(target), "scheme": settings.scheme, "customers": counts}, ensure_ascii=False))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from lib import value
    from lib.exports import SheetSpec, csv_bytes, workbook_bytes

    target = Path(args.export) if args.export else None
    if target is not None and target.suffix.lower() not in (".xlsx", ".csv"):
        raise CliError("--export must end in .xlsx or .csv")
    if args.horizon_days is not None and args.horizon_days < 1:
        raise CliError("--horizon-days must be at least 1")
    horizons = tuple(dict.fromkeys([90, 365] + ([args.horizon_days] if args.horizon_days else [])))
    as_of, holdout_end = _parse_date(args.as_of), _parse_date(args.holdout_end)
    ws = _open(args)
    try:
        dataset = ws.get_dataset(args.dataset)
        if dataset.orders == 0:
            raise CliError(f"dataset {dataset.name!r} has no orders")
        try:
            if holdout_end is not None and as_of is None:
                as_of = holdout_end - timedelta(days=args.horizon_days or 90)
            result = value.predict(ws, dataset.dataset_id, as_of, horizons=horizons)
            check = (value.holdout_check(ws, dataset.dataset_id, result.as_of, holdout_end)
                     if holdout_end is not None else None)
        except value.ModelUnsupported as exc:
            raise CliError(str(exc)) from exc
    finally:
        ws.close()
    customers = result.customers.drop(columns=["last_order_date"])
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".csv":
            target.write_bytes(csv_bytes(customers))
        else:
            target.write_bytes(workbook_bytes([SheetSpec(title="Predictions", frame=customers)]))
    out: dict[str, Any] = {
        "dataset": dataset.name, "as_of": result.as_of.isoformat(), "horizons": list(result.horizons),
        "discount_rate_annual": result.discount_rate_annual, **result.parameters(), **result.totals(),
        "notes": list(result.notes), "export": str(target) if target else None,
    }
    if check is not None:
        out["holdout"] = check.to_dict()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str, indent=2))
    else:
        for key in ("as_of", "customers", "expected_alive", "predicted_value", "at_risk_customers"):
            print(f"{key}\t{out[key]}")
        if check is not None:
            print(f"holdout\tpredicted {check.predicted_total:.1f} vs actual {check.actual_total:.0f} purchase days")
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    from lib import channels

    ws = _open(args)
    try:
        dataset = ws.get_dataset(args.dataset)
        try:
            model = channels.fit(ws, dataset.dataset_id, args.outcome, n_boot=args.n_boot)
        except channels.ModelDataMissing as exc:
            raise CliError(str(exc)) from exc
        except ValueError as exc:  # too few weeks, no usable spend
            raise CliError(f"the data cannot support a marketing-mix model: {exc}") from exc
        coverage = channels.coverage_note(ws, dataset.dataset_id)
    finally:
        ws.close()
    out = {"dataset": dataset.name, **model.as_dict(args.lang)}
    if coverage:
        out["coverage_warning"] = {"spend_first": coverage[0], "spend_last": coverage[1],
                                   "orders_first": coverage[2], "orders_last": coverage[3]}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str, indent=2))
    else:
        for row in out["channels"]:
            print(f"{row['channel']}\t{row['contribution']:.0f}\t[{row['contribution_low']:.0f}, "
                  f"{row['contribution_high']:.0f}]")
        print(f"baseline\t{out['baseline']['contribution']:.0f}\tR² {out['fit']['r2']:.3f}")
    return 0


def cmd_playbook(args: argparse.Namespace) -> int:
    from lib import playbooks

    target = Path(args.export)
    ws = _open(args)
    try:
        dataset = ws.get_dataset(args.dataset)
        if dataset.orders == 0:
            raise CliError(f"dataset {dataset.name!r} has no orders")
        try:
            path = playbooks.write_playbook_export(ws, dataset.dataset_id, target, lang=args.lang,
                                                   scheme=args.scheme, plan_name=args.plan)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    finally:
        ws.close()
    print(str(path))
    return 0


def cmd_scenario(args: argparse.Namespace) -> int:
    from lib import scenarios

    ws = _open(args)
    try:
        result = scenarios.run_scenario_cli(
            ws, args.dataset, args.growth, args.cac_cut, args.repurchase_up, args.aov_change,
            save=args.save, lang=args.lang,
        )
    except scenarios.ScenarioError as exc:
        raise CliError(exc.message(args.lang)) from exc
    finally:
        ws.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str, indent=2))
    else:
        print(result["headline"])
        for lever in result.get("levers") or []:
            print(f"- {lever}")
    return 0


def cmd_review_pack(args: argparse.Namespace) -> int:
    from lib import review as review_pack

    ws = _open(args)
    try:
        paths = review_pack.write_review_pack(ws, args.dataset, args.out, args.lang, args.scenario, args.plan)
    except review_pack.ReviewPackError as exc:
        raise CliError(exc.message(args.lang)) from exc
    finally:
        ws.close()
    for path in paths:
        print(str(path))
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    from lib import timeline
    from lib.timeline import exports as timeline_exports

    ws = _open(args)
    try:
        dataset = ws.get_dataset(args.dataset)
        baseline = None
        if args.plan:
            try:
                saved = timeline.load_plan(ws, dataset.dataset_id, args.plan)
            except timeline.PlanNotFound as exc:
                raise CliError(f"no plan named {args.plan!r} in dataset {dataset.name!r}") from exc
            tasks, start, baseline = saved.tasks, saved.start_monday, saved.baseline
        else:
            tasks, start = timeline.default_plan(args.lang), None
    finally:
        ws.close()
    if args.start:
        start = _parse_date(args.start)
    if start is None:
        raise CliError("give --start (the Monday of week 1)")
    try:
        start = timeline.require_monday(start)
    except timeline.NotAMondayError as exc:
        raise CliError(str(exc)) from exc
    problems = [i for i in timeline.validate(tasks) if i.severity == "error"]
    if problems:
        raise CliError("the plan has errors: " + "; ".join(i.message(args.lang) for i in problems))
    try:
        path = timeline_exports.export_plan(
            args.export, tasks, start, args.lang, baseline=baseline, plan_name=args.plan or "default",
            dataset_name=dataset.name,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    print(str(path))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from lib import backup

    db = resolve_db_path(args.db)
    if not db.is_file():
        raise CliError(f"no workspace file at {db}")
    info = backup.backup(db, Path(args.out))
    print(json.dumps(info.as_dict(), ensure_ascii=False))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from lib import backup

    info = backup.restore(Path(args.source), resolve_db_path(args.db), force=args.force)
    print(json.dumps(info.as_dict(), ensure_ascii=False))
    return 0


def _engine_options(p: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--spark-master``: where a command computes orders read in place (``--parquet``)."""
    p.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                   help="where --parquet is computed: an in-memory DuckDB (default) or Spark SQL (the same "
                        "definitions, transpiled; needs pyspark and Java, or SPARK_REMOTE)")
    p.add_argument("--spark-master", help="with --engine spark: local[N], spark://host:7077, yarn… "
                                         "(default: $SPARK_MASTER, else local[*]; $SPARK_REMOTE wins)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lib.cli", description="Growth Planner command line")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--db", help="workspace file (default: $GROWTH_PLANNER_DB or data/workspace.duckdb)")
        p.set_defaults(func=func)
        return p

    for name, func, what in (
        ("import-orders", cmd_import_orders, "orders"),
        ("import-channels", cmd_import_channels, "channel data"),
    ):
        p = add(name, func, f"import {what} from CSV/XLSX/Parquet")
        p.add_argument("file")
        p.add_argument("--dataset", required=True)
        p.add_argument("--mapping", help="JSON file mapping fields to columns (default: saved or suggested)")
        p.add_argument("--replace", action="store_true", help="replace this kind of data in the dataset")
        p.add_argument("--rejects", help="write rejected rows to this CSV")
        p.add_argument("--currency", type=str.upper, choices=list(CURRENCIES),
                       help="the currency of the dataset's amounts (default: unchanged, CNY for a new dataset)")
    p = add("datasets", cmd_datasets, "list datasets with row counts and date ranges; add one read in place")
    p.add_argument("--json", action="store_true")
    actions = p.add_subparsers(dest="datasets_action")
    q = actions.add_parser("add-parquet", help="use a Parquet file or (hive-partitioned) folder as a dataset, "
                                               "read in place and refreshed when its files change")
    q.add_argument("path", help="a .parquet file or a folder of them (searched recursively)")
    q.add_argument("--name", required=True, help="the dataset's name")
    q.add_argument("--mapping", help="JSON file mapping fields (order_id, customer_id, order_time, amount, channel, "
                                     "is_refund, original_order_id) to columns (default: suggested from the names)")
    q.add_argument("--db", default=argparse.SUPPRESS, help="workspace file")
    p = add("kpis", cmd_kpis, "KPIs of a period against the previous one")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a dataset of the workspace")
    source.add_argument("--parquet", help="orders read in place from a Parquet file, folder or glob (columns mapped "
                                          "as `datasets add-parquet` maps them; no channel spend)")
    p.add_argument("--mapping", help="with --parquet: JSON file mapping fields to columns (default: suggested)")
    p.add_argument("--start", help="YYYY-MM-DD (with --end; default: the latest full quarter, else 30 days)")
    p.add_argument("--end", help="YYYY-MM-DD, inclusive")
    p.add_argument("--json", action="store_true")
    _engine_options(p)
    p = add("segments", cmd_segments, "export segment lists (.xlsx workbook or .csv)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a dataset of the workspace")
    source.add_argument("--parquet", help="orders read in place from a Parquet file, folder or glob (columns "
                                          "customer_id, order_ts, amount, is_refund): for data too big to import")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: the last order date)")
    p.add_argument("--window-days", type=int, help="look-back window (default: the saved setting, 365)")
    p.add_argument("--scheme", choices=["plan", "rfm"], help="plan tiers or RFM segments (default: saved)")
    p.add_argument("--group", help="with .csv: only this tier/segment key (e.g. dormant, champions)")
    p.add_argument("--export", required=True, help="FILE.xlsx | FILE.csv")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    _engine_options(p)
    p = add("predict", cmd_predict, "predicted customer value (BG/NBD + Gamma-Gamma): P(alive), purchases, CLV")
    p.add_argument("--dataset", required=True)
    p.add_argument("--as-of", help="YYYY-MM-DD: fit on orders up to this day (default: the last order day, or "
                                   "--holdout-end minus the horizon)")
    p.add_argument("--horizon-days", type=int, help="another horizon besides 90 and 365 days")
    p.add_argument("--holdout-end", help="YYYY-MM-DD: compare predicted with actual purchase days up to this day")
    p.add_argument("--export", help="FILE.csv | FILE.xlsx: one row per customer")
    p.add_argument("--json", action="store_true")
    p = add("channels", cmd_channels, "marketing-mix model: each channel's contribution, ROI and intervals")
    p.add_argument("--dataset", required=True)
    p.add_argument("--outcome", choices=["imported", "net_sales", "new_customers"],
                   help="the weekly outcome (default: the channel file's total outcome, else the orders' net sales)")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates for the 80%% intervals")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.add_argument("--json", action="store_true")
    p = add("playbook", cmd_playbook, "export the tier playbook with each tier's member list (.xlsx)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--export", required=True, help="FILE.xlsx")
    p.add_argument("--scheme", choices=["plan", "rfm"], default="plan")
    p.add_argument("--plan", help="take the weeks from this saved 13-week plan (default: the latest saved)")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p = add("scenario", cmd_scenario, "work a target scenario through the response curves")
    p.add_argument("--dataset", required=True)
    p.add_argument("--growth", type=float, default=0.175, help="sales growth, 0.18 = +18%%")
    p.add_argument("--cac-cut", type=float, default=0.125, help="CAC cut, 0.12 = -12%%")
    p.add_argument("--repurchase-up", type=float, default=0.05, help="repurchase rate points, 0.05 = +5 pts")
    p.add_argument("--aov-change", type=float, default=0.0)
    p.add_argument("--save", help="save the scenario under this name")
    p.add_argument("--json", action="store_true")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p = add("review-pack", cmd_review_pack, "write the review workbook (.xlsx) and deck (.pptx)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--scenario", help="a saved scenario or a preset (conservative, base, aggressive)")
    p.add_argument("--plan", help="a saved 13-week plan (default: the latest saved)")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.add_argument("--out", required=True, help="folder for the two files")
    p = add("timeline", cmd_timeline, "export the 13-week plan as .xlsx, .ics, .png or .svg")
    p.add_argument("--dataset", required=True)
    p.add_argument("--plan", help="a saved plan (default: the plan's default tasks)")
    p.add_argument("--start", help="Monday of week 1, YYYY-MM-DD (default: the saved plan's)")
    p.add_argument("--export", required=True, help="FILE.xlsx | FILE.ics | FILE.png | FILE.svg")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p = add("backup", cmd_backup, "copy the workspace to a verified backup file (stop the app first)")
    p.add_argument("--out", required=True, help="the backup file to write (replaced if it exists)")
    p = add("restore", cmd_restore, "replace the workspace file by a verified backup (stop the app first)")
    p.add_argument("--from", dest="source", required=True, metavar="FILE", help="a file written by `backup`")
    p.add_argument("--force", action="store_true", help="replace an existing workspace file")
    return parser


def _one_line_errors() -> tuple[type[Exception], ...]:
    """The errors :func:`main` reports in one line; evaluated only when a command raised (``except`` is lazy),
    so a command that imports nothing from :mod:`lib.importing` does not pay for it at start-up."""
    from lib.importing import ImportFailed

    return ImportFailed, CliError, WorkspaceError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except _one_line_errors() as exc:
        # One line, even when a library's message spans several.
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except duckdb.Error as exc:  # e.g. disk full during a write: the transaction was rolled back
        print("error: the workspace refused the write, nothing was saved: " + " ".join(str(exc).split()),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
