"""``metaopt suggest DATA``: ranked model and hyperparameter recommendations."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metaopt.cli._app import app
from metaopt.cli._options import DataArg, DataOptions, data_options

if TYPE_CHECKING:
    from rich.console import Console

    from metaopt.evaluation import Evaluation
    from metaopt.recommend import Suggestion
    from metaopt.tasks import Task

__all__ = ["suggest"]

#: The predicted column's unit, under its header (the legend says what it means).
RELATIVE = "(0–1, vs KB)"


def _params_text(params: dict[str, Any]) -> str:
    """Every hyperparameter as ``k=v`` (floats to 4 significant digits; --json is exact)."""
    return " ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={json.dumps(v)}" for k, v in params.items()
    )


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


def _flat(suggestions: list[Suggestion]) -> tuple[float, float] | None:
    """(spread, median σ) of the predictions when the spread is smaller than the σ, else None."""
    if len(suggestions) < 2:
        return None
    scores = [s.score for s in suggestions]
    sigmas = sorted(s.uncertainty for s in suggestions)
    spread, sigma = max(scores) - min(scores), sigmas[len(sigmas) // 2]
    return (spread, sigma) if spread < sigma else None


def _render(
    console: Console,
    suggestions: list[Suggestion],
    title: str,
    real: dict[str, Evaluation] | None,
    metric: str,
) -> None:
    from rich.table import Table

    # the fixed columns take ~50 characters (~70 with --evaluate); below ~30 more, the
    # hyperparameters are listed under the table instead of squeezed into a column
    inline = console.width >= (100 if real is not None else 80)
    table = Table(title=title)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("algorithm", no_wrap=True)
    table.add_column(f"predicted¹ ± σ\n{RELATIVE}", justify="right", no_wrap=True)
    table.add_column("fit time", justify="right", no_wrap=True)
    if real is not None:
        table.add_column(f"CV {metric}² ± sd\n(your data)", justify="right", no_wrap=True)
    if inline:
        table.add_column("hyperparameters", overflow="fold", ratio=1)
    for s in suggestions:
        row = [str(s.rank), s.algorithm, f"{s.score:.3f} ± {s.uncertainty:.3f}", _fmt_time(s.fit_time)]
        if real is not None:
            ev = real.get(s.config_id)
            if ev is None:
                row.append("—")
            elif ev.ok:
                row.append(f"{ev.score:.4f} ± {ev.score_std:.4f}")
            else:
                row.append(ev.status)
        if inline:
            row.append(_params_text(s.params))
        table.add_row(*row)
    console.print(table)
    if not inline:
        console.print("[bold]hyperparameters[/bold]")
        _print_rows(console, [(f"  #{s.rank} {s.algorithm}:", _params_text(s.params)) for s in suggestions])
    console.print(
        f"¹ predicted {RELATIVE}: {_relative_meaning(metric)}. Order: a portfolio, each place "
        "covering what the places above may miss, so predictions need not decrease.",
        style="dim", highlight=False, markup=False,
    )
    if real is not None:
        console.print(
            f"² CV {metric}: the real {_folds_text(real)}cross-validated {metric} on your data, in "
            f"{metric}'s own units; compare the order of the two columns, not their values.",
            style="dim", highlight=False, markup=False,
        )
        verdict = _prediction_check(suggestions, real)
        if verdict:
            console.print(verdict, highlight=False, markup=False)


def _folds_text(real: dict[str, Evaluation]) -> str:
    """``"5-fold "`` from the evaluations' fold scores (empty when none is scored)."""
    n = max((len(ev.fold_scores) for ev in real.values() if ev.ok), default=0)
    return f"{n}-fold " if n else ""


def _relative_meaning(metric: str) -> str:
    """What the predicted score is, in one clause (the table's legend, --json's ``scales``)."""
    return (
        "the config's expected place among the configs the knowledge base tried on similar "
        f"data (1 = the best, 0 = the worst), not a {metric} value"
    )


def _prediction_check(suggestions: list[Suggestion], real: dict[str, Evaluation]) -> str | None:
    """One line saying whether the highest prediction also scored best in CV."""
    scored = [s for s in suggestions if s.config_id in real and real[s.config_id].ok]
    if len(scored) < 2:
        return None
    best = max(scored, key=lambda s: real[s.config_id].score)
    top = max(scored, key=lambda s: s.score)
    if best.rank == top.rank:
        return f"check: the highest prediction, #{top.rank} {top.algorithm}, also has the best CV score"
    return (
        f"check: the best CV score is #{best.rank} {best.algorithm} "
        f"({real[best.config_id].score:.4f}); the highest prediction was #{top.rank} {top.algorithm} "
        f"({real[top.config_id].score:.4f} in CV)"
    )


def _scales(metric: str, evaluated: bool) -> dict[str, str]:
    """``--json``'s ``scales``: what each score field of a suggestion measures."""
    out = {
        "predicted_relative": f"predicted, 0-1: {_relative_meaning(metric)}",
        "predicted_relative_sigma": "the expected error of predicted_relative (about 82% of held-out scores fall within 1 sigma)",
        "score": "the same number as predicted_relative (kept for existing readers)",
        "uncertainty": "the same number as predicted_relative_sigma",
        "evidence.normalized": "the config's relative score (0-1) on that knowledge-base dataset",
        "evidence.score": "its cross-validated score there, in the dataset's metric",
    }
    if evaluated:
        out["evaluation.score"] = f"the cross-validated {metric} on your data, in {metric}'s own units"
    return out


def _render_evidence(console: Console, suggestions: list[Suggestion]) -> None:
    if not (suggestions and suggestions[0].evidence):
        return
    console.print(
        "[bold]evidence[/bold] (the knowledge-base datasets the learned similarity expects to "
        "rank configs like this one; per dataset, the algorithm's best config there: its 0–1 "
        "score vs KB, then its CV score in that dataset's metric)"
    )
    rows = []
    for s in suggestions:
        parts = []
        for e in s.evidence:
            if e.normalized is None:
                parts.append(f"{e.name}: not evaluated")
            else:
                raw = "" if e.score is None else f", {e.metric} {e.score:.3f}"
                parts.append(f"{e.name}: {e.normalized:.2f}{raw}")
        rows.append((f"  #{s.rank} {s.algorithm}:", parts))
    head = max(len(h) for h, _ in rows)
    room = console.width - head - 1
    # one line per suggestion when they fit, else one line per dataset (under its text)
    sep = "; " if all(len("; ".join(parts)) <= room for _, parts in rows) else "\n"
    _print_rows(console, [(h, sep.join(parts)) for h, parts in rows])


def _print_rows(console: Console, rows: list[tuple[str, str]]) -> None:
    """``head text`` lines whose wrapped text stays under the text, not under the head."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for head, text in rows:
        grid.add_row(head, text)
    console.print(grid, highlight=False, markup=False)


def _render_notes(
    console: Console, suggestions: list[Suggestion], top: int, evaluated: bool, kind: str
) -> None:
    if len(suggestions) < top:
        console.print(
            f"note: only {len(suggestions)} candidates pass the filters (--top {top}); showing all",
            highlight=False, markup=False,
        )
    flat = _flat(suggestions)
    if flat is not None:
        estimator = "MetaoptRegressor" if kind == "regression" else "MetaoptClassifier"
        then = (
            "the CV column decides" if evaluated
            else f"rerun with --evaluate to score them on your data (or use metaopt.{estimator}, which does so in a pipeline)"
        )
        console.print(
            f"[yellow]note:[/yellow] the predictions are flat: they span {flat[0]:.3f}, less than "
            f"their σ ({flat[1]:.3f}), so their order is uncertain; {then}",
            highlight=False,
        )
    if suggestions and suggestions[0].ood:
        estimator = "MetaoptRegressor" if kind == "regression" else "MetaoptClassifier"
        then = "" if evaluated else (
            f"; rerun with --evaluate to score them on your data (or use metaopt.{estimator})"
        )
        console.print(
            f"[yellow]warning:[/yellow] this dataset lies outside the knowledge base "
            f"(excess meta-feature distance {suggestions[0].ood_distance:.2f}); the ranking "
            f"leans on configs that did well on average, and the predictions are uncertain{then}",
            highlight=False,
        )


def _next_steps(
    console: Console,
    data: Path,
    opts: DataOptions,
    target: str,
    suggestions: list[Suggestion],
    real: dict[str, Evaluation] | None,
    algorithms: str | None,
    fitted: int | None,
) -> None:
    """The commands that come next, with the user's data path and options."""
    alg = ["--algorithms", algorithms] if algorithms else []
    steps = []
    if real is None:
        first = suggestions[0]
        steps.append((f"cross-validate #{first.rank}", opts.command(
            "evaluate", data, "--algorithm", first.algorithm, "--params",
            json.dumps(first.params, separators=(",", ":")), target=target)))
    steps.append(("tune, warm-started with these", opts.command("tune", data, *alg, target=target)))
    if fitted is None:
        best, why = suggestions[0], ""
        scored = [s for s in suggestions if real and s.config_id in real and real[s.config_id].ok]
        if scored:
            best = max(scored, key=lambda s: real[s.config_id].score)  # type: ignore[index]
            why = " (the best CV score)"
        steps.append((f"fit #{best.rank}{why} on all rows and save it", opts.command(
            "suggest", data, *alg, "--fit", str(best.rank), "--output", "model.joblib", target=target)))
    console.print("[bold]next[/bold]")
    for what, command in steps:
        console.print(f"  {what}:", highlight=False, markup=False)
        console.print(f"    {command}", highlight=False, markup=False, soft_wrap=True)


def _evaluate_all(
    loaded: Task, suggestions: list[Suggestion], folds: int, progress: bool
) -> dict[str, Evaluation]:
    """Cross-validate every suggestion; Ctrl-C says what was done and exits 130."""
    from metaopt.evaluation import Protocol, evaluate_many

    jobs = [(loaded, s.algorithm, s.params) for s in suggestions]
    real: dict[str, Evaluation] = {}
    try:
        for ev in evaluate_many(jobs, Protocol(n_splits=folds), progress=progress):
            real[ev.config_id] = ev
    except KeyboardInterrupt:
        scored = [
            f"#{s.rank} {s.algorithm} {real[s.config_id].score:.4f}"
            for s in suggestions if s.config_id in real and real[s.config_id].ok
        ]
        done = ", ".join(scored[:5]) + (", …" if len(scored) > 5 else "")
        typer.echo(
            f"metaopt: interrupted: cross-validated {len(real)} of {len(suggestions)} suggestions"
            + (f" ({done})" if done else "")
            + "; nothing was saved - rerun to start over, or leave out --evaluate for the predictions only",
            err=True,
        )
        raise typer.Exit(130) from None
    return real


def _fit(
    console: Console | None,
    loaded: Task,
    suggestions: list[Suggestion],
    k: int,
    output: Path,
    real: dict[str, Evaluation] | None,
) -> tuple[str, str]:
    """Fit suggestion ``k`` on all rows and save it (the writer ``tune --output`` uses)."""
    from metaopt.spaces import save_fitted

    s = suggestions[k - 1]
    info: dict[str, Any] = {
        "source": "metaopt suggest",
        "rank": s.rank,
        "config_id": s.config_id,
        "predicted": s.score,
        "predicted_sigma": s.uncertainty,
    }
    ev = None if real is None else real.get(s.config_id)
    if ev is not None and ev.ok:
        info.update(metric=ev.metric, score=ev.score)
    if console is not None:
        console.print(f"fitting #{k} {s.algorithm} on all {loaded.n_rows} rows…", highlight=False)
    return save_fitted(output, loaded, s.algorithm, s.params, s.spec, info)


@app.command()
@data_options
def suggest(
    data: DataArg,
    data_options: DataOptions,
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="How many suggestions.")] = 5,
    algorithms: Annotated[
        str | None,
        typer.Option("--algorithms", "-a", help="Comma-separated algorithms to consider, e.g. hgb,linear."),
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option("--time-budget", help="Drop configs expected to take longer than S seconds to fit."),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Trained models directory (default: $METAOPT_MODELS, datasets/models)."),
    ] = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Cross-validate the suggestions and show real scores.")
    ] = False,
    folds: Annotated[int, typer.Option("--folds", help="Folds for --evaluate.")] = 5,
    fit: Annotated[
        int | None,
        typer.Option("--fit", min=1, help="Fit suggestion K on all rows and save it to --output."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            help="With --fit K: save the fitted pipeline here with joblib - a PICKLE: load it only "
            "from a source you trust (metaopt never loads it) - plus PATH.spec.json with the "
            "pickle-free estimator spec and params (the files `tune --output` writes).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document with every spec.")] = False,
) -> None:
    """Recommend algorithms and hyperparameters for a dataset, best first."""
    from rich.console import Console

    from metaopt._exceptions import ConfigError
    from metaopt.evaluation import DEFAULT_METRICS
    from metaopt.recommend import SAMPLE_ROWS, suggestions_document
    from metaopt.recommend import suggest as _suggest

    if fit is not None and output is None:
        raise ConfigError(f"--fit {fit} needs --output PATH", "pass --output model.joblib (where to save the fitted pipeline)")
    if output is not None and fit is None:
        raise ConfigError("--output needs --fit K (which suggestion to fit)", "pass --fit 1 for the first suggestion")
    # Ranking needs the meta-features and the shape, not every row; --evaluate/--fit train.
    trains = evaluate or fit is not None or data_options.max_rows is not None
    loaded = data_options.load(data, sample_rows=None if trains else SAMPLE_ROWS)
    algs = [a for a in algorithms.split(",") if a.strip()] if algorithms else None
    suggestions = _suggest(loaded, top=top, algorithms=algs, time_budget=time_budget, models=models)
    if fit is not None and fit > len(suggestions):
        raise ConfigError(
            f"--fit {fit}, but there are {len(suggestions)} suggestions",
            f"pass --fit 1 to {len(suggestions)}" + (" or a larger --top" if len(suggestions) == top else ""),
        )
    real: dict[str, Evaluation] | None = None
    metric = DEFAULT_METRICS[str(loaded.kind)]
    if evaluate:
        real = _evaluate_all(loaded, suggestions, folds, progress=not as_json)
        metric = next(iter(real.values())).metric if real else metric
    saved = None
    if as_json:
        if fit is not None and output is not None:
            saved = _fit(None, loaded, suggestions, fit, output, real)
        extra: dict[str, Any] = {
            "task_id": loaded.task_id,
            "name": loaded.name,
            "kind": loaded.kind,
            "rows": int(loaded.n_rows_total),
            "rows_read": int(loaded.n_rows),
            "target": loaded.target,
            "top": top,
            "ood": bool(suggestions[0].ood) if suggestions else False,
            "flat": _flat(suggestions) is not None,
            "metric": metric,
            "scales": _scales(metric, real is not None),
        }
        if saved is not None:
            extra["fitted"] = {"rank": fit, "output": saved[0], "spec_path": saved[1]}
        doc = suggestions_document(suggestions, extra)
        for item in doc["suggestions"]:  # the same numbers under names that say what they are
            item["predicted_relative"] = item["score"]
            item["predicted_relative_sigma"] = item["uncertainty"]
        if real is not None:
            for item in doc["suggestions"]:
                ev = real.get(item["config_id"])
                item["evaluation"] = None if ev is None else {
                    "metric": ev.metric,
                    "score": None if not ev.ok or math.isnan(ev.score) else ev.score,
                    "score_std": None if not ev.ok or math.isnan(ev.score_std) else ev.score_std,
                    "status": ev.status,
                }
        typer.echo(json.dumps(doc, indent=2, allow_nan=False, default=str))
        return
    console = Console()
    title = f"suggestions for {loaded.name} ({loaded.kind}, {loaded.n_rows_total} rows)"
    _render(console, suggestions, title, real, metric)
    if loaded.sampled_from is not None:
        console.print(
            f"note: the meta-features were computed on a random sample of {loaded.n_rows:,} of "
            f"the file's {loaded.n_rows_total:,} rows (the row count is the file's); "
            "--evaluate and --fit read every row",
            highlight=False, markup=False,
        )
    _render_evidence(console, suggestions)
    _render_notes(console, suggestions, top, evaluate, str(loaded.kind))
    if fit is not None and output is not None:
        model, spec = _fit(console, loaded, suggestions, fit, output, real)
        console.print(
            f"saved #{fit} fitted on all rows to {model} (a joblib pickle: load it only from a "
            f"source you trust) and its spec to {spec}",
            highlight=False, markup=False,
        )
    _next_steps(console, data, data_options, str(loaded.target), suggestions, real, algorithms, fit)
