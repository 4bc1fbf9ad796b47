"""``metaopt kb info | build | compact | export | merge | remeasure``: inspect and fill the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from metaopt.cli._app import app, fail
from metaopt.cli._options import OpenMLCacheOpt

__all__ = ["kb_app"]

kb_app = typer.Typer(
    name="kb",
    help="Inspect, build and compact the knowledge base (tasks × meta-features × evaluations).",
    no_args_is_help=True,
)
app.add_typer(kb_app, name="kb")

_KB_HELP = "Knowledge base directory (default: $METAOPT_KB, else the shipped datasets/kb)."
KBOption = Annotated[Path | None, typer.Option("--kb", help=_KB_HELP, show_default=False)]


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def _algorithm_list(algorithms: list[str] | None) -> list[str] | None:
    """``--algorithms`` given repeatedly and/or comma-separated, as one list (None: all)."""
    return [a.strip() for item in algorithms or [] for a in item.split(",") if a.strip()] or None


def _render_info(info: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    console.print(
        f"[bold]knowledge base[/bold] {escape(info.path)}\n"
        f"schema {info.schema_version}, metaopt {info.metaopt_version}, meta-features "
        f"{info.mf_version}, protocol {info.protocol_id}\n"
        f"created {info.created}, updated {info.updated}, {_size(info.disk_bytes)} on disk, "
        f"parts {', '.join(f'{t} {n}' for t, n in info.parts.items())}"
    )

    kinds = sorted(info.tasks_by_kind_source)
    sources = sorted({s for d in info.tasks_by_kind_source.values() for s in d})
    t = Table(title=f"tasks: {info.n_tasks} ({info.n_tasks_failed} failed to load)")
    t.add_column("kind")
    for s in sources:
        t.add_column(s, justify="right")
    t.add_column("total", justify="right")
    for k in kinds:
        row = info.tasks_by_kind_source[k]
        t.add_row(k, *(str(row.get(s, 0)) for s in sources), str(sum(row.values())))
    console.print(t)

    statuses = ["ok", "error", "timeout", "skipped"]
    statuses += sorted({s for d in info.evaluations_by_algorithm.values() for s in d} - set(statuses))
    t = Table(title=f"evaluations: {info.n_evaluations}")
    t.add_column("algorithm")
    for s in statuses:
        t.add_column(s, justify="right")
    t.add_column("ok configs / task (median)", justify="right")
    for alg, row in info.evaluations_by_algorithm.items():
        per = info.configs_per_task.get(alg)
        t.add_row(alg, *(str(row.get(s, 0)) for s in statuses), "-" if per is None else f"{per:g}")
    console.print(t)

    for title, counts in (("failures by reason", info.failures_by_reason),
                          ("skipped by reason", info.skipped_by_reason)):
        if counts:
            t = Table(title=title)
            t.add_column("reason")
            t.add_column("count", justify="right")
            for reason, n in list(counts.items())[:15]:
                t.add_row(escape(reason), str(n))
            if len(counts) > 15:
                t.add_row(f"… {len(counts) - 15} more reasons", str(sum(list(counts.values())[15:])))
            console.print(t)

    if info.mf_coverage:
        t = Table(title="meta-features")
        for c in ("version", "tasks", "features", "NaN fraction"):
            t.add_column(c, justify="right" if c != "version" else "left")
        for version, cov in info.mf_coverage.items():
            t.add_row(version, str(cov["tasks"]), str(cov["features"]), f"{cov['nan_fraction']:.3f}")
        console.print(t)


@kb_app.command("info")
def info(
    kb: KBOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise the knowledge base: tasks, evaluations, failures, meta-features, size."""
    from metaopt.kb import KnowledgeBase

    summary = KnowledgeBase.open(kb).info()
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _render_info(summary)


@kb_app.command("build")
def build(
    source: Annotated[str, typer.Option(
        "--source", "-s",
        help="Task source: openml:OpenML-CC18, openml:ID, corpus, corpus:NAME or dir:PATH.",
    )],
    kb: KBOption = None,
    algorithms: Annotated[list[str] | None, typer.Option(
        "--algorithms", "-a", help="Algorithms to evaluate (repeat, or comma-separated); default all.",
    )] = None,
    configs_per_algorithm: Annotated[int, typer.Option(
        "--configs-per-algorithm", "-n", help="Sobol design configs per algorithm and task, besides the default.",
    )] = 32,
    n_jobs: Annotated[int, typer.Option("--n-jobs", "-j", help="Local worker processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="dask.distributed scheduler address (tcp://host:8786): run on its workers.",
    )] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Only tasks whose id or name matches these shell patterns (repeatable).",
    )] = None,
    limit_tasks: Annotated[int | None, typer.Option("--limit-tasks", help="Build at most this many tasks.")] = None,
    max_rows: Annotated[int | None, typer.Option("--max-rows", help="Skip tasks with more rows.")] = None,
    shard: Annotated[str | None, typer.Option(
        "--shard", help="K/N: only the tasks of shard K (0-based) of N, by task-id hash.",
    )] = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit",
        help="Seconds per evaluation before it is recorded as a timeout (default: the one the "
        "knowledge base was built with, else 300).",
    )] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Append results every N evaluations.")] = 8,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Re-run failed evaluations and reload tasks that failed to load.",
    )] = False,
    compact: Annotated[bool, typer.Option("--compact/--no-compact", help="Merge parts at the end.")] = True,
    log: Annotated[bool, typer.Option(
        "--log", help="Plain progress lines on stderr instead of a progress bar (for nohup runs).",
    )] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build report as JSON.")] = False,
    openml_cache: OpenMLCacheOpt = None,
) -> None:
    """Evaluate default + N design configs per algorithm on every task of a source.

    Resumable: run it again after an interruption (even SIGKILL) and it finishes what is
    missing, duplicating nothing. Exits with code 1 when no selected task could be loaded.
    """
    import dataclasses

    from metaopt.evaluation import Protocol
    from metaopt.kb._build import build as run_build
    from metaopt.kb._build import parse_shard

    algs = _algorithm_list(algorithms)
    protocol = None  # Protocol.kb(), with the limits the knowledge base recorded
    if time_limit is not None:
        protocol = dataclasses.replace(Protocol.kb(), time_limit=time_limit)
    mode = "none" if quiet else ("log" if log or not sys.stderr.isatty() else "rich")
    report = run_build(
        kb, source, algorithms=algs, configs_per_algorithm=configs_per_algorithm, n_jobs=n_jobs,
        scheduler=scheduler, protocol=protocol, tasks=tasks, limit_tasks=limit_tasks,
        max_rows=max_rows, shard=parse_shard(shard), batch_size=batch_size,
        retry_failed=retry_failed, compact=compact, progress=mode, openml_cache=openml_cache,
    )
    nothing_loaded = report.tasks_selected > 0 and report.tasks_loaded == 0
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(
            f"{report.kb}: {report.tasks_selected} tasks ({report.tasks_loaded} loaded, "
            f"{report.tasks_failed} failed, {report.tasks_complete_before} already complete); "
            f"{report.evaluations_run} evaluations run ({report.evaluations_ok} ok, "
            f"{report.evaluations_failed} failed), {report.evaluations_present} already present, "
            f"{report.skipped_rows} skipped-algorithm rows; {report.seconds:.1f} s"
        )
    if nothing_loaded:
        why = " ".join(report.first_failure.split())  # one line, whatever the error held
        fail(f"no task of {source!r} could be loaded ({report.tasks_selected} selected, "
             f"{report.tasks_failed} failed); first failure: {why}")
        raise typer.Exit(1)


@kb_app.command("compact")
def compact(kb: KBOption = None) -> None:
    """Merge each table's parts into one (safe to interrupt; readers see the same rows)."""
    from metaopt.kb import KnowledgeBase

    store = KnowledgeBase.open(kb)
    with store.writer():
        merged = store.compact()
    typer.echo(", ".join(f"{t}: {n} parts merged" for t, n in merged.items()))


@kb_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="Output folder for tasks / metafeatures / evaluations files.")],
    kb: KBOption = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write each table (duplicates resolved, meta-features wide) as one file."""
    from metaopt.kb import KnowledgeBase

    for path in KnowledgeBase.open(kb).export(out, fmt):
        typer.echo(str(path))


@kb_app.command("merge")
def merge(
    sources: Annotated[list[Path], typer.Argument(help="Knowledge bases to copy rows from (e.g. shards).")],
    kb: KBOption = None,
) -> None:
    """Copy the rows of other knowledge bases (e.g. --shard builds) into --kb."""
    from metaopt.kb import KnowledgeBase, default_kb_path

    store = KnowledgeBase.create(kb or default_kb_path(), exist_ok=True)
    with store.writer():
        for src in sources:
            copied = store.merge(src)
            typer.echo(f"{src}: " + ", ".join(f"{t} +{n}" for t, n in copied.items()))


@kb_app.command("remeasure")
def remeasure(
    kb: KBOption = None,
    algorithms: Annotated[list[str] | None, typer.Option(
        "--algorithms", "-a", help="Only these algorithms (repeat, or comma-separated); default all.",
    )] = None,
    kinds: Annotated[list[str] | None, typer.Option(
        "--kind", help="Only tasks of this kind: binary, multiclass or regression (repeatable).",
    )] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Only tasks whose id matches these shell patterns (repeatable).",
    )] = None,
    measured_before: Annotated[str | None, typer.Option(
        "--measured-before",
        help="Only rows measured before this ISO time (default: now); repeat it to resume.",
    )] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", "-j", help="Local worker processes.")] = 1,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write every re-measured row's old and new score to this CSV file.",
    )] = None,
) -> None:
    """Re-evaluate stored rows under the current code and replace them (after a fixed defect).

    Prints, per algorithm and kind, how many rows were re-measured, how many moved by
    more than 0.01 and the largest move.
    """
    from metaopt.kb import KnowledgeBase
    from metaopt.kb import remeasure as run

    store = KnowledgeBase.open(kb)
    split = _algorithm_list(algorithms)
    with store.writer():
        report = run(
            store, algorithms=split, kinds=kinds, tasks=tasks, measured_before=measured_before,
            n_jobs=n_jobs, progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    typer.echo(
        f"{report.selected} rows selected, {report.already_done} already re-measured "
        f"(measured after {report.measured_before}), {len(report.moves)} re-measured now"
    )
    if report.tasks_failed:
        typer.echo(f"tasks that failed to load: {', '.join(report.tasks_failed)}")
    summary = report.summary()
    if len(summary):
        typer.echo(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if out is not None and len(report.moves):
        report.moves.to_csv(out, index=False)
        typer.echo(f"wrote {out}")
