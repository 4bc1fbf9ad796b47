"""``metaopt suggest DATA``: ranked model and hyperparameter recommendations."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metaopt.cli._app import app
from metaopt.cli._options import DataArg, KindOpt, OpenMLCacheOpt, TargetOpt

if TYPE_CHECKING:
    from metaopt.recommend import Suggestion

__all__ = ["suggest"]


def _key_params(params: dict[str, Any], limit: int = 4) -> str:
    """The first ``limit`` hyperparameters as ``k=v`` (floats to 3 significant digits)."""
    items = [
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={json.dumps(v)}"
        for k, v in params.items()
    ]
    return " ".join(items[:limit]) + (" …" if len(items) > limit else "")


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


def _render(
    suggestions: list[Suggestion], title: str, real: dict[str, Any] | None, metric: str | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title)
    for name, justify in (("#", "right"), ("algorithm", "left")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("key hyperparameters", overflow="fold")
    table.add_column("predicted ± σ", justify="right", no_wrap=True)
    table.add_column("fit time", justify="right", no_wrap=True)
    if real is not None:
        table.add_column(f"CV {metric or 'score'}", justify="right", no_wrap=True)
    for s in suggestions:
        row = [
            str(s.rank),
            s.algorithm,
            _key_params(s.params),
            f"{s.score:.3f} ± {s.uncertainty:.3f}",
            _fmt_time(s.fit_time),
        ]
        if real is not None:
            ev = real.get(s.config_id)
            if ev is None:
                row.append("—")
            elif ev.ok:
                row.append(f"{ev.score:.4f} ± {ev.score_std:.4f}")
            else:
                row.append(ev.status)
        table.add_row(*row)
    console.print(table)
    console.print(
        "predicted: the surrogate's normalized score (1 = as good as the best config the "
        "knowledge base tried on similar data, 0 = the worst). Order: a portfolio weighted "
        "toward the datasets that should rank configs like this one; each place covers what "
        "the places above may miss, so predictions need not decrease.",
        style="dim",
        highlight=False,
    )
    if suggestions and suggestions[0].evidence:
        console.print("[bold]evidence[/bold] (the knowledge-base datasets the learned similarity expects to rank configs like this one)")
        for s in suggestions:
            parts = []
            for e in s.evidence:
                if e.normalized is None:
                    parts.append(f"{e.name}: not evaluated")
                else:
                    raw = "" if e.score is None else f", {e.metric} {e.score:.3f}"
                    parts.append(f"{e.name}: best {s.algorithm} {e.normalized:.2f}{raw}")
            console.print(f"  #{s.rank} {s.algorithm}: " + "; ".join(parts), highlight=False)
    if suggestions and suggestions[0].ood:
        console.print(
            f"[yellow]warning:[/yellow] this dataset lies outside the knowledge base "
            f"(excess meta-feature distance {suggestions[0].ood_distance:.2f}); the ranking "
            "leans on configs that did well on average, and the predictions are uncertain",
            highlight=False,
        )


@app.command()
def suggest(
    data: DataArg,
    target: TargetOpt = None,
    task: KindOpt = None,
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
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document with every spec.")] = False,
    openml_cache: OpenMLCacheOpt = None,
) -> None:
    """Recommend algorithms and hyperparameters for a dataset, best first."""
    from metaopt.recommend import suggest as _suggest
    from metaopt.recommend import suggestions_document
    from metaopt.tasks import load_task

    loaded = load_task(data, target, kind=task.value if task else None, openml_cache=openml_cache)
    algs = [a for a in algorithms.split(",") if a.strip()] if algorithms else None
    suggestions = _suggest(loaded, top=top, algorithms=algs, time_budget=time_budget, models=models)
    real: dict[str, Any] | None = None
    metric = None
    if evaluate:
        from metaopt.evaluation import Protocol, evaluate_many

        jobs = [(loaded, s.algorithm, s.params) for s in suggestions]
        results = list(evaluate_many(jobs, Protocol(n_splits=folds), progress=not as_json))
        real = {ev.config_id: ev for ev in results}
        metric = results[0].metric if results else None
    if as_json:
        extra: dict[str, Any] = {
            "task_id": loaded.task_id,
            "name": loaded.name,
            "kind": loaded.kind,
            "rows": int(loaded.n_rows),
            "ood": bool(suggestions[0].ood) if suggestions else False,
        }
        doc = suggestions_document(suggestions, extra)
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
    else:
        title = f"suggestions for {loaded.name} ({loaded.kind}, {loaded.n_rows} rows)"
        _render(suggestions, title, real, metric)
