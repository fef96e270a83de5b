"""``embedlab demo``: train, evaluate, explore, recommend and draw, in one command."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._load_options import load_values, with_load_options
from embedlab.cli._options import QuietOpt, VerboseOpt, output
from embedlab.cli._paths import check_output
from embedlab.exceptions import DataError


def _rows(frame: Any) -> list[dict[str, Any]]:
    """A frame's rows as JSON-friendly dicts (NumPy values, NaN → null, lists kept)."""
    from embedlab.cli._explore import _records

    return _records(frame.reset_index(drop=True))


def _as_dict(result: Any) -> dict[str, Any]:
    """The demo's result as one JSON object."""
    from embedlab.cli._explore import _plain

    return {
        "synthetic": result.synthetic,
        "data": str(result.data),
        "scores": _rows(result.scores),
        "neighbours": {film: _rows(frame) for film, frame in result.neighbours.items()},
        "user": _plain(result.user),
        "recommendations": _rows(result.recommendations),
        "obscurity": _rows(result.obscurity),
        "files": {name: str(path) for name, path in result.files.items()},
        "seconds": round(result.seconds, 3),
    }


@app.command("demo")
@with_load_options(after="data")
def demo(
    data: Annotated[
        Path | None,
        typer.Option(
            help="The ML-100K folder or zip, or a ratings table of your own (default: "
            "$EMBEDLAB_DATA, the cache, else download)."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for the bundle, the maps and the curves.")
    ] = Path("embedlab-demo"),
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: scores, neighbours, recommendations, obscurity, files.",
        ),
    ] = False,
    quick: Annotated[bool, typer.Option(hidden=True, help="Small models (tests).")] = False,
    base_url: Annotated[str | None, typer.Option(hidden=True, help="MovieLens mirror.")] = None,
    **table: Any,
) -> None:
    """The whole path in about a minute: models, neighbours, recommendations, map.

    On MovieLens 100K by default; without data on disk and without network it runs on a
    synthetic catalogue and says so. --data also takes a ratings table of your own, read
    with the table options of every command that reads ratings (--user, --item, --rating,
    --sep, --encoding, ...); neighbours are then shown for the three most rated items.

    Example: embedlab demo --data ~/data/ml-100k --out demo

    Example: embedlab demo --data scores.csv --user customer_id --item product_code --out demo
    """
    from rich.console import Console
    from rich.table import Table

    from embedlab.demo import OBSCURE_BELOW, run_demo

    given = load_values(table)
    if given and data is None:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise DataError(
            f"{flags}: table options describe a table of your own; pass it with --data FILE "
            "(without --data the demo runs on MovieLens 100K, whose columns are known)"
        )
    check_output(out, "folder", "--out")
    out_ = output(quiet, verbose, as_json)
    out_.settings(data=data, out=out, quick=quick, base_url=base_url)
    console = Console()

    def say(line: str) -> None:
        # Plain echo: a notice stays one line, whatever the terminal's width. The
        # synthetic-data notice is shown even when quiet (stderr under --json).
        if "SYNTHETIC" in line and quiet:
            typer.echo(line, err=as_json)
        else:
            out_.info(line)

    result = run_demo(
        data, out, base_url=base_url, quick=quick, say=say, progress=out_.progress, table=given
    )
    out_.done("demo")
    if as_json:
        out_.result(json.dumps(_as_dict(result), indent=2))
        return
    if quiet:
        for path in result.files.values():
            out_.result(str(path))
        return
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
            name = getattr(row, "label", None) or row.key
            console.print(
                f"  {rank:>2}. {row.similarity:.3f}  {name}", highlight=False, markup=False
            )

    console.print(f"\nTop 10 for user {result.user}{tag}:", highlight=False, markup=False)
    for row in result.recommendations.itertuples(index=False):
        because = "; ".join(str(b) for b in (row.because or [])[:2])
        name = getattr(row, "label", None)
        line = f"  {row.rank:>2}. {row.score:.2f}  {name if name is not None else row.item}"
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
    # a label the bundle knows: on the synthetic catalogue there is no "Star Wars"
    query = next(iter(result.neighbours), "Star Wars (1977)")
    console.print(
        f"\nDone in {result.seconds:.0f} s. Explore further:\n"
        f"  embedlab similar {model} {shlex.quote(str(query))}\n"
        f"  embedlab recommend {model} --user {result.user} --explain\n"
        f"  embedlab map {model} --out map.html\n"
        f"  embedlab serve {model}",
        highlight=False,
        markup=False,
    )
