"""``metaopt benchmark``: leave-dataset-out or leave-source-out meta-evaluation against the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metaopt.cli._app import app

__all__ = ["benchmark"]


@app.command()
def benchmark(
    kb: Annotated[Path, typer.Option("--kb", help="Knowledge base directory.")] = Path("datasets/kb"),
    protocol: Annotated[
        str,
        typer.Option("--protocol", help="'dataset': grouped leave-dataset-out folds; 'source': leave-source-out "
                     "(one fold per held-out corpus source, cross-domain)."),
    ] = "dataset",
    folds: Annotated[int, typer.Option("--folds", min=2, help="Grouped leave-dataset-out folds.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Shuffles the groups before folding.")] = 0,
    top: Annotated[int, typer.Option("--top", min=1, help="k of the best-of-top-k regret.")] = 5,
    min_source_tasks: Annotated[
        int, typer.Option("--min-source-tasks", min=1,
                          help="--protocol source: sources with fewer tasks are merged into one held-out block."),
    ] = 10,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write suggest_ldo.{md,json} (suggest_lso.* with --protocol source) and PNG plots here."),
    ] = None,
    no_flaml: Annotated[bool, typer.Option("--no-flaml", help="Leave FLAML's zero-shot method out.")] = False,
    flaml_learners: Annotated[
        str, typer.Option("--flaml-learners", help="Comma-separated FLAML learners, in ranking order.")
    ] = "lgbm,rf,xgboost,extra_tree",
    flaml_cache: Annotated[
        Path | None,
        typer.Option("--flaml-cache", help="JSON file of FLAML scores to reuse and extend (reruns evaluate only new tasks)."),
    ] = None,
) -> None:
    """Leave-dataset-out (or leave-source-out) benchmark: regret of metaopt's suggestions and the baselines'."""
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
        kb, folds=folds, seed=seed, methods=methods, top=top, protocol=protocol,
        min_source_tasks=min_source_tasks, progress=lambda m: typer.echo(m, err=True),
    )
    typer.echo(result.to_markdown())
    if out is not None:
        stem = "suggest_lso" if protocol == "source" else "suggest_ldo"
        result.to_markdown(out / f"{stem}.md")
        result.to_json(out / f"{stem}.json")
        try:
            paths = result.plot(out)
        except Exception as exc:  # plots are optional output
            typer.echo(f"plots skipped: {exc}", err=True)
            paths = []
        typer.echo(f"wrote {out / f'{stem}.md'}, {out / f'{stem}.json'}"
                   + "".join(f", {p}" for p in paths), err=True)
