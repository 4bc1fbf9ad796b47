"""``metaopt tune DATA``: a warm-started, meta-sampled Optuna study; prints a short summary."""

from __future__ import annotations

import json
import re
import shlex
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metaopt._exceptions import ConfigError
from metaopt.cli._app import app
from metaopt.cli._options import DataArg, DataOptions, data_options

if TYPE_CHECKING:
    from metaopt.integrations.optuna._tune import TunePlan, TuneProgress, TuneResult

__all__ = ["tune"]


def _say(text: str) -> None:
    typer.echo(text, err=True)


def _seconds(value: float) -> str:
    value = max(value, 0.0)
    minutes, seconds = divmod(int(round(value)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _plan_lines(plan: TunePlan) -> list[str]:
    """The run's first lines: what is tuned, where the study is, how many trials, the limit."""
    limit = "no time limit per trial" if plan.time_limit is None else f"{plan.time_limit:g} s per trial"
    lines = [
        f"tuning {', '.join(plan.algorithms)} with {plan.sampler} ({plan.metric}, {plan.folds}-fold CV); "
        f"{limit} ({plan.time_limit_note}; --time-limit to change)",
    ]
    where = f"study {plan.study_name} in {plan.location}"
    warm = f", {plan.warm_started} of them metaopt's suggestions" if plan.warm_started else ""
    if not plan.resumed:
        lines.append(f"{where} (new): running {plan.n_trials} trials{warm}")
    else:
        lost = f"; {plan.lost} lost/interrupted trial(s) rerun" if plan.lost else ""
        elsewhere = f"; {plan.running} running elsewhere" if plan.running else ""
        head = f"{where} (resumed: {plan.done} of {plan.n_trials} trials done{lost}{elsewhere})"
        if plan.to_run:
            lines.append(f"{head}: running {plan.to_run} more{warm}")
        elif plan.done >= plan.n_trials:
            lines.append(f"{head}: nothing to run; pass --trials {plan.n_trials + 10} to run 10 more")
        else:
            lines.append(f"{head}: waiting for the trials running elsewhere")
        others = [s for s in plan.samplers if s != plan.sampler]
        if others:
            lines.append(
                f"  earlier runs of this study proposed with {', '.join(others)}; this run uses "
                f"{plan.sampler} (pass another --study-name for a study of its own)"
            )
    return lines


def _render(result: TuneResult, spec_file: str | None) -> None:
    """The short summary on stdout: best config, counts, and where the spec and model are."""
    echo = typer.echo
    echo(
        f"best: {result.algorithm}, {result.metric} {result.best_value:.4f} "
        f"(trial #{result.best_trial} of study {result.study_name})"
    )
    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={json.dumps(v)}" for k, v in result.params.items()
    )
    echo(textwrap.fill(params, width=78, initial_indent="  ", subsequent_indent="  ") if params else "  (no parameters)")
    failed = result.n_failed - result.n_lost
    parts = [f"{result.n_done} trials done ({result.n_complete} scored, {failed} failed"]
    if result.n_lost:
        parts.append(f", {result.n_lost} lost or interrupted and rerun")
    parts.append(f"); {result.new_trials} run now")
    if result.warm_started:
        parts.append(f", {len(result.warm_started)} warm-started from metaopt suggest")
    echo("".join(parts))
    if failed:
        echo("  failed trials say why in their 'status' and 'message' user attributes")
    if result.output:
        echo(
            f"model: {result.output} (refitted on all rows; a joblib PICKLE: load it only from a "
            "source you trust)"
        )
    spec = result.spec_path or spec_file
    if spec:
        echo(f"spec: {spec} (metaopt.estimator_from_spec rebuilds it; --json prints all)")


def _spec_file(result: TuneResult) -> Path:
    """Where the spec goes without --output: next to an SQLite study, else the working directory."""
    from metaopt.integrations.optuna._tune import storage_location

    location = Path(storage_location(result.storage))
    folder = location.parent if result.storage.startswith("sqlite:///") and location.parent.is_dir() else Path.cwd()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", result.study_name).strip("-") or "metaopt-tune"
    return folder / f"{stem}.spec.json"


def _parse_time_limit(text: str) -> float | str | None:
    value = text.strip().lower()
    if value == "auto":
        return "auto"
    if value in ("none", "off", "0"):
        return None
    try:
        return float(value)
    except ValueError:
        raise ConfigError(
            f"--time-limit {text!r} is not a number of seconds",
            "pass seconds such as --time-limit 120, auto (the default) or none",
        ) from None


def _command_line(ctx: typer.Context) -> str:
    """The command as the user gave it (the options they set), to resume with."""
    words = ["metaopt", "tune"]
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        source = ctx.get_parameter_source(name)
        if param.param_type_name == "argument":
            words.append(str(value))
        elif source is not None and source.name == "COMMANDLINE" and value is not None:
            opt = max(param.opts, key=len)
            if getattr(param, "is_flag", False):
                if value:
                    words.append(opt)
            else:
                words += [opt, str(value.value if hasattr(value, "value") else value)]
    return shlex.join(words)


class _Live:
    """The progress bar on stderr: trials, best score, the trial in flight, elapsed, ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
        )
        from rich.text import Text

        self.state: TuneProgress | None = None
        live = self

        class Current(ProgressColumn):
            def render(self, task: Any) -> Text:
                return Text(live.current(), overflow="ellipsis", no_wrap=True)

        self.bar = Progress(
            TextColumn("trials"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), Current(),
            console=Console(stderr=True), transient=True,
        )
        self.job = self.bar.add_task("tune", total=1, best="—", start=False)
        self.t0 = time.time()

    def current(self) -> str:
        state, now = self.state, time.time()
        text = f"elapsed {_seconds(now - self.t0)}"
        if state is None:
            return text
        if state.running:
            shown = ", ".join(
                f"#{r.number} {r.algorithm or '…'} {_seconds(now - r.started)}" for r in state.running[:2]
            )
            more = f" +{len(state.running) - 2}" if len(state.running) > 2 else ""
            text = f"{'waiting for ' if state.waiting else 'now '}{shown}{more} · {text}"
        eta = state.eta(now)
        return f"{text} · ETA {'—' if eta is None else _seconds(eta)}"

    def update(self, state: TuneProgress) -> None:
        self.state = state
        if not self.bar.live.is_started:
            self.bar.start()
            self.bar.start_task(self.job)
        best = "—" if state.best is None else f"{state.best:.4f}"
        self.bar.update(self.job, completed=min(state.done, state.total), total=state.total, best=best)

    def stop(self) -> None:
        if self.bar.live.is_started:
            self.bar.stop()


@app.command()
@data_options
def tune(
    ctx: typer.Context,
    data: DataArg,
    data_options: DataOptions,
    trials: Annotated[
        int,
        typer.Option(
            "--trials", "-n", min=1,
            help="Trials the study should hold in total: scored ones and configs that failed "
            "(an error or --time-limit). A rerun runs only what is missing, and trials lost "
            "to a killed process or Ctrl-C are rerun.",
        ),
    ] = 20,
    sampler: Annotated[
        str, typer.Option("--sampler", help="meta (the learned optimizer), tpe or random; part of the default study name.")
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
        typer.Option(
            "--study-name",
            help="Study name (default: derived from the data, algorithms, scoring and sampler, so a rerun resumes it).",
        ),
    ] = None,
    n_jobs: Annotated[
        int, typer.Option("--n-jobs", "-j", min=1, help="Worker processes sharing the study.")
    ] = 1,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds per trial.")] = 5,
    time_limit: Annotated[
        str,
        typer.Option(
            "--time-limit",
            help="Seconds per trial (all folds); a slower config is a failed trial (status timeout). "
            "auto: 10 x the expected time of the slowest algorithm's default config on this data "
            "(the models' fit-time prediction), within 60-600 s, or 300 s without models; "
            "none: no limit. The first line of the run says which limit applies.",
        ),
    ] = "auto",
    metric: Annotated[
        str | None, typer.Option("--metric", help="scikit-learn scorer (default: per task kind).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            help="Refit the best pipeline on all rows and save it here with joblib - a PICKLE: "
            "load it only from a source you trust (metaopt never loads it) - plus PATH.spec.json "
            "with the pickle-free estimator spec, params and score. Without it the spec goes to "
            "STUDY.spec.json next to the SQLite study (or in the working directory).",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Trained models directory (default: $METAOPT_MODELS, datasets/models)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the sampler.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result, spec included, as a JSON document.")
    ] = False,
) -> None:
    """Tune hyperparameters with Optuna, warm-started and sampled by metaopt."""
    import optuna

    from metaopt.integrations.optuna import tune as _tune
    from metaopt.integrations.optuna import write_spec
    from metaopt.integrations.optuna._tune import TuneInterrupted

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    algs = [a.strip() for a in algorithms.split(",") if a.strip()] if algorithms else None
    live = _Live()

    def on_start(plan: TunePlan) -> None:
        for line in _plan_lines(plan):
            _say(line)

    try:
        result = _tune(
            task=data_options.load(data), n_trials=trials, sampler=sampler,
            warm_start=warm_start, algorithms=algs, storage=storage, study_name=study_name,
            n_jobs=n_jobs, folds=folds, time_limit=_parse_time_limit(time_limit), metric=metric,
            seed=seed, models=models, optimizer=models, output=output,
            progress=live.update, on_start=on_start,
        )
    except KeyboardInterrupt as exc:
        live.stop()
        if isinstance(exc, TuneInterrupted):
            _say(
                f"metaopt: interrupted: study {exc.study_name} in {exc.location} keeps {exc.done} of "
                f"{exc.n_trials} trials (the trial in flight is rerun first on resume)"
            )
            _say(f"resume with: {_command_line(ctx)}")
        else:
            _say("metaopt: interrupted before any trial ran; nothing was saved but the study's setup")
        raise typer.Exit(130) from None
    finally:
        live.stop()
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str))
        return
    spec_file = None if result.spec_path else write_spec(result, _spec_file(result))
    _render(result, spec_file)
