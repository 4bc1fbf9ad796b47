"""``metaopt evaluate DATA --algorithm NAME``: score configs by cross-validation."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metaopt._exceptions import ConfigError
from metaopt.cli._app import app
from metaopt.cli._options import DataArg, DataOptions, data_options

if TYPE_CHECKING:
    from metaopt.evaluation import Evaluation

__all__ = ["evaluate"]


def _parse_params(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--params is not valid JSON ({exc.msg} at character {exc.pos}): {text!r}",
            hint='pass a JSON object, e.g. --params \'{"learning_rate": 0.1}\'',
        ) from None
    if not isinstance(params, dict):
        raise ConfigError(
            f"--params must be a JSON object of hyperparameters, got {text!r}",
            hint='pass e.g. --params \'{"max_iter": 200}\'',
        )
    return params


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("params", "versions"):
            value = json.loads(value)
        elif isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value
    return out


def _fmt(value: float, spec: str = ".4f") -> str:
    return "—" if math.isnan(value) else format(value, spec)


def _short_params(params: dict[str, Any]) -> str:
    """``k=v`` pairs with floats to 4 significant digits (the JSON output is exact)."""
    return " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={json.dumps(v)}" for k, v in sorted(params.items())
    )


def _render_one(ev: Evaluation) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{ev.algorithm} on {ev.task_id} ({ev.n_rows_used} rows, {ev.metric})")
    table.add_column("fold", justify="right")
    table.add_column(ev.metric, justify="right")
    for i, score in enumerate(ev.fold_scores):
        table.add_row(str(i + 1), f"{score:.4f}")
    if ev.ok:
        table.add_section()
        table.add_row("mean ± sd", f"{ev.score:.4f} ± {ev.score_std:.4f}")
    console.print(table)
    console.print(f"params     {json.dumps(ev.params, sort_keys=True)}", highlight=False, soft_wrap=True)
    console.print(f"config_id  {ev.config_id}", highlight=False)
    console.print(
        f"times      fit {_fmt(ev.fit_time, '.3f')} s/fold, predict {_fmt(ev.predict_time, '.3f')} s/fold",
        highlight=False,
    )
    status = ev.status if ev.ok else f"{ev.status}: {ev.message}"
    console.print(f"status     {status}", highlight=False, soft_wrap=True)


def _render_many(evaluations: list[Evaluation]) -> None:
    from rich.console import Console
    from rich.table import Table

    ranked = sorted(evaluations, key=lambda e: (not e.ok, -e.score if e.ok else 0.0, e.config_id))
    first = evaluations[0]
    table = Table(title=f"{len(evaluations)} {first.algorithm} configs on {first.task_id} ({first.metric})")
    for name, justify in (("rank", "right"), ("config_id", "left"), ("score ± sd", "right"),
                          ("fit s/fold", "right"), ("status", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("params", overflow="fold")
    for rank, ev in enumerate(ranked, 1):
        table.add_row(
            str(rank), ev.config_id,
            f"{ev.score:.4f} ± {ev.score_std:.4f}" if ev.ok else "—",
            _fmt(ev.fit_time, ".3f"),
            ev.status if ev.ok else f"{ev.status}: {ev.message[:60]}",
            _short_params(ev.params),
        )
    Console().print(table)


@app.command()
@data_options(exclude=("max_rows",))  # its own --max-rows caps the rows the protocol scores
def evaluate(
    data: DataArg,
    algorithm: Annotated[str, typer.Option("--algorithm", "-a", help="Algorithm (search space) name, e.g. hgb.")],
    data_options: DataOptions,
    params: Annotated[
        str | None, typer.Option("--params", "-p", help="Config as a JSON object (default: the space's defaults).")
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", "-m", help="scikit-learn scorer name (default: per task kind).")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    max_rows: Annotated[int, typer.Option("--max-rows", help="Row cap (stratified subsample); 0: all rows.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of subsample, folds and models.")] = 0,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds per evaluation; past it: status timeout.")
    ] = None,
    memory_limit: Annotated[
        int | None, typer.Option("--memory-limit", help="MiB a config may allocate (POSIX).")
    ] = None,
    configs: Annotated[
        int, typer.Option("--configs", "-n", help="Evaluate N configs from the space's Sobol design instead.")
    ] = 0,
    n_jobs: Annotated[int, typer.Option("--n-jobs", "-j", help="Parallel worker processes.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the evaluation records as JSON.")] = False,
) -> None:
    """Evaluate one config (or --configs N) of an algorithm on a dataset by cross-validation.

    Prints the fold scores, mean ± sd, fit and predict times and the status. Exits with
    code 1 when no evaluation finished with status ok.
    """
    from metaopt.evaluation import Protocol, evaluate_many
    from metaopt.spaces import DataShape, get_space

    config = _parse_params(params)
    if configs < 0:
        raise ConfigError(f"--configs must be 0 or more, got {configs}")
    if configs and params is not None:
        raise ConfigError("--configs and --params exclude each other", hint="pass one of them")
    protocol = Protocol(
        n_splits=folds, seed=seed, max_rows=max_rows or None, metric=metric,
        time_limit=time_limit, memory_limit=memory_limit,
    )
    space = get_space(algorithm)
    loaded = data_options.load(data)
    if configs:
        # the design is drawn for the rows the protocol uses (bounds may depend on size)
        shape = DataShape.of(loaded)._replace(n_rows=len(protocol.subsample(loaded)))
        jobs = [(loaded, algorithm, p) for p in space.design(configs, shape, seed=seed)]
    else:
        jobs = [(loaded, algorithm, config)]
    results = list(
        evaluate_many(jobs, protocol, n_jobs=n_jobs, progress=bool(configs) and not as_json)
    )
    if as_json:
        records = [_jsonable(ev.to_record()) for ev in results]
        typer.echo(json.dumps(records[0] if not configs else records, indent=2, allow_nan=False))
    elif configs:
        _render_many(results)
    else:
        _render_one(results[0])
    if not any(ev.ok for ev in results):
        raise typer.Exit(1)
