"""``metaopt benchmark``: leave-dataset-out meta-evaluation against the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metaopt.cli._app import app

__all__ = ["benchmark"]


@app.command()
def benchmark(
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory.")] = Path("datasets/kb"),
    folds: Annotated[int, typer.Option("--folds", min=2, help="Grouped leave-dataset-out folds.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Shuffles the groups before folding.")] = 0,
    top: Annotated[int, typer.Option("--top", min=1, help="k of the best-of-top-k regret.")] = 5,
    out: Annotated[Path | None, typer.Option("--out", help="Write suggest_ldo.{md,json} and PNG plots here.")] = None,
    no_flaml: Annotated[bool, typer.Option("--no-flaml", help="Leave FLAML's zero-shot method out.")] = False,
    flaml_learners: Annotated[
        str, typer.Option("--flaml-learners", help="Comma-separated FLAML learners, in ranking order.")
    ] = "lgbm,rf,xgboost,extra_tree",
    flaml_cache: Annotated[
        Path | None,
        typer.Option("--flaml-cache", help="JSON file of FLAML scores to reuse and extend (reruns evaluate only new tasks)."),
    ] = None,
) -> None:
    """Leave-dataset-out benchmark: regret of metaopt's suggestions and the baselines'."""
    from metaopt.bench import default_methods, leave_dataset_out_benchmark

    methods = default_methods()
    if not no_flaml:
        from metaopt.bench._flaml import FlamlZeroShot, flaml_available

        if flaml_available():
            methods.append(FlamlZeroShot([x.strip() for x in flaml_learners.split(",") if x.strip()],
                                         cache=flaml_cache))
        else:
            typer.echo("flaml.default is not importable: FLAML left out (pip install 'flaml[automl]')", err=True)
    result = leave_dataset_out_benchmark(
        kb, folds=folds, seed=seed, methods=methods, top=top, progress=lambda m: typer.echo(m, err=True)
    )
    typer.echo(result.to_markdown())
    if out is not None:
        result.to_markdown(out / "suggest_ldo.md")
        result.to_json(out / "suggest_ldo.json")
        try:
            paths = result.plot(out)
        except Exception as exc:  # plots are optional output
            typer.echo(f"plots skipped: {exc}", err=True)
            paths = []
        typer.echo(f"wrote {out / 'suggest_ldo.md'}, {out / 'suggest_ldo.json'}"
                   + "".join(f", {p}" for p in paths), err=True)
