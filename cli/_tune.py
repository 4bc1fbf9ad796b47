"""``metaopt tune DATA``: a warm-started, meta-sampled Optuna study; prints the best config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metaopt.cli._app import app
from metaopt.cli._options import DataArg, DataOptions, data_options

if TYPE_CHECKING:
    from metaopt.integrations.optuna import TuneResult

__all__ = ["tune"]


def _render(result: TuneResult) -> None:
    from rich.console import Console

    console = Console()
    warm = len(result.warm_started)
    console.print(
        f"study [bold]{result.study_name}[/bold] in {result.storage}: {result.n_trials} trials "
        f"({result.new_trials} run now, {warm} warm-started from metaopt suggest, "
        f"{result.n_failed} failed)",
        highlight=False,
    )
    console.print(
        f"best trial #{result.best_trial}: [bold]{result.algorithm}[/bold], "
        f"{result.metric} {result.best_value:.4f}",
        highlight=False,
    )
    for key, value in result.params.items():
        shown = f"{value:.4g}" if isinstance(value, float) else json.dumps(value)
        console.print(f"  {key} = {shown}", highlight=False)
    console.print("estimator spec (rebuild it with metaopt.estimator_from_spec):", highlight=False)
    typer.echo(json.dumps(result.spec, indent=2, default=str))
    if result.output:
        console.print(
            f"saved the pipeline refitted on all rows to {result.output} (a joblib pickle: load "
            f"it only from a source you trust) and its spec to {result.spec_path}",
            highlight=False,
        )


@app.command()
@data_options
def tune(
    data: DataArg,
    data_options: DataOptions,
    trials: Annotated[
        int,
        typer.Option("--trials", "-n", min=1, help="Trials the study should hold in total (a rerun finishes what is missing)."),
    ] = 20,
    sampler: Annotated[
        str, typer.Option("--sampler", help="meta (the learned optimizer), tpe or random.")
    ] = "meta",
    warm_start: Annotated[
        int,
        typer.Option("--warm-start", min=0, help="Enqueue this many metaopt suggestions first (0: none)."),
    ] = 5,
    algorithms: Annotated[
        str | None,
        typer.Option("--algorithms", "-a", help="Comma-separated algorithms to search, e.g. hgb,linear."),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option("--storage", help="Optuna database URL (default: sqlite:///metaopt-tune.db in the working directory)."),
    ] = None,
    study_name: Annotated[
        str | None,
        typer.Option("--study-name", help="Study name (default: derived from the data, algorithms and scoring, so a rerun resumes it)."),
    ] = None,
    n_jobs: Annotated[
        int, typer.Option("--n-jobs", "-j", min=1, help="Worker processes sharing the study.")
    ] = 1,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds per trial.")] = 5,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Seconds per trial; a slower config is recorded as a failed trial."),
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="scikit-learn scorer (default: per task kind).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            help="Refit the best pipeline on all rows and save it here with joblib - a PICKLE: "
            "load it only from a source you trust (metaopt never loads it) - plus PATH.spec.json "
            "with the pickle-free estimator spec, params and score.",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Trained models directory (default: $METAOPT_MODELS, datasets/models)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the sampler.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as a JSON document.")] = False,
) -> None:
    """Tune hyperparameters with Optuna, warm-started and sampled by metaopt."""
    import optuna

    from metaopt.integrations.optuna import tune as _tune

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    algs = [a.strip() for a in algorithms.split(",") if a.strip()] if algorithms else None
    kwargs: dict[str, Any] = dict(
        task=data_options.load(data), n_trials=trials, sampler=sampler,
        warm_start=warm_start, algorithms=algs, storage=storage, study_name=study_name,
        n_jobs=n_jobs, folds=folds, time_limit=time_limit, metric=metric, seed=seed,
        models=models, optimizer=models, output=output,
    )
    if as_json:
        result = _tune(**kwargs)
        typer.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str))
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # started on the first report, so that an error before the study runs stays one line
    bar = Progress(
        TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    )
    job = bar.add_task("tune", total=trials, best="—", start=False)

    def report(done: int, total: int, best: float | None) -> None:
        if not bar.live.is_started:
            bar.start()
            bar.start_task(job)
        bar.update(job, completed=min(done, total), total=total, best="—" if best is None else f"{best:.4f}")

    try:
        result = _tune(progress=report, **kwargs)
    finally:
        if bar.live.is_started:
            bar.stop()
    _render(result)
