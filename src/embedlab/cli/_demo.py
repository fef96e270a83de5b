"""``embedlab demo``: train, evaluate, explore, recommend and draw, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embedlab.cli._app import app


@app.command("demo")
def demo(
    data: Annotated[
        Path | None,
        typer.Option(
            help="The ML-100K folder or zip (default: $EMBEDLAB_DATA, the cache, else download)."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for the bundle, the maps and the curves.")
    ] = Path("embedlab-demo"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary lines.")] = False,
    quick: Annotated[bool, typer.Option(hidden=True, help="Small models (tests).")] = False,
    base_url: Annotated[str | None, typer.Option(hidden=True, help="MovieLens mirror.")] = None,
) -> None:
    """The whole path on MovieLens 100K in about a minute: models, neighbours, recommendations, map.

    Without data on disk and without network it runs on a synthetic catalogue and says so.

    Example: embedlab demo --data ~/data/ml-100k --out demo
    """
    from rich.console import Console
    from rich.table import Table

    from embedlab.demo import OBSCURE_BELOW, run_demo

    console = Console()

    def say(line: str) -> None:
        # Plain echo: a notice stays one line, whatever the terminal's width.
        if not quiet or "SYNTHETIC" in line:
            typer.echo(line)

    result = run_demo(data, out, base_url=base_url, quick=quick, say=say)
    tag = " (SYNTHETIC DATA)" if result.synthetic else ""

    table = Table(title=f"Test RMSE and MAE, random 90/10 split{tag}")
    for col in ("model", "RMSE", "MAE", "fit s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for row in result.scores.itertuples(index=False):
        table.add_row(row.model, f"{row.rmse:.4f}", f"{row.mae:.4f}", f"{row.fit_seconds:.1f}")
    console.print(table)

    for film, frame in result.neighbours.items():
        console.print(f"\nNearest neighbours of {film}{tag}:", highlight=False, markup=False)
        for rank, row in enumerate(frame.itertuples(index=False), start=1):
            console.print(
                f"  {rank:>2}. {row.similarity:.3f}  {row.label}", highlight=False, markup=False
            )

    console.print(f"\nTop 10 for user {result.user}{tag}:", highlight=False, markup=False)
    for row in result.recommendations.itertuples(index=False):
        because = "; ".join(str(b) for b in (row.because or [])[:2])
        line = f"  {row.rank:>2}. {row.score:.2f}  {row.label}"
        console.print(
            line + (f"  (because you liked {because})" if because else ""),
            highlight=False,
            markup=False,
        )

    console.print(
        f"\nObscure recommendations (the course's lesson): share of top-10 items with fewer than "
        f"{OBSCURE_BELOW} training ratings, over all users{tag}",
        highlight=False,
        markup=False,
    )
    for row in result.obscurity.itertuples(index=False):
        console.print(
            f"  {row.model:<30} {row.obscure_share:6.1%} obscure, median {row.median_count:.0f} "
            f"ratings, RMSE {row.rmse:.4f}",
            highlight=False,
            markup=False,
        )

    console.print(f"\nWrote{tag}:", highlight=False, markup=False)
    for name, path in result.files.items():
        console.print(f"  {name:<18} {path}", highlight=False, markup=False)
    model = result.files["model"]
    console.print(
        f"\nDone in {result.seconds:.0f} s. Explore further:\n"
        f'  embedlab similar {model} "Star Wars"\n'
        f"  embedlab recommend {model} --user {result.user} --explain\n"
        f"  embedlab map {model} --out map.html\n"
        f"  embedlab serve {model}",
        highlight=False,
        markup=False,
    )
