"""``metaopt train``: train the recommender's models on a knowledge base."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from metaopt.cli._app import app

__all__ = ["train"]


@app.command()
def train(
    kb: Annotated[
        Path | None, typer.Option("--kb", help="Knowledge-base directory (default: datasets/kb).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Models directory to write (default: $METAOPT_MODELS, else datasets/models)."),
    ] = None,
    members: Annotated[int, typer.Option("--members", min=1, help="Surrogate ensemble size.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstraps and members.")] = 0,
    optimizer_iterations: Annotated[
        int,
        typer.Option(
            "--optimizer-iterations",
            min=0,
            help="Meta-training updates of the learned optimizer (0: do not train it).",
        ),
    ] = 600,
) -> None:
    """Train the recommender (surrogate, similarity-weighted portfolio, learned optimizer) and save it."""
    from metaopt.kb import KnowledgeBase
    from metaopt.recommend import Recommender, default_models_path

    base = KnowledgeBase.open(kb)
    target = default_models_path(out)
    started = time.perf_counter()

    def report(component: str, seconds: float | None) -> None:
        elapsed = time.perf_counter() - started
        what = f"{component}…" if seconds is None else f"{component} done in {seconds:.1f} s"
        typer.echo(f"train [{elapsed:6.1f} s] {what}", err=True)

    rec = Recommender(
        n_members=members, random_state=seed,
        optimizer_params={"iterations": optimizer_iterations},
    ).fit(base, progress=report).save(target)
    info = rec.info_
    typer.echo(
        f"trained on {info.get('n_tasks')} tasks ({info.get('n_evaluations')} evaluations, "
        f"KB fingerprint {info.get('fingerprint')}) in {info.get('train_seconds')} s; "
        f"wrote {target}"
    )
