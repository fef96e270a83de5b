"""``embedlab data synth``: write a synthetic MovieLens-style folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from embedlab.cli._app import fail
from embedlab.cli._data import data_app
from embedlab.cli._options import (
    JsonOpt,
    QuietOpt,
    SeedAliasOpt,
    VerboseOpt,
    output,
    python_flags,
    renamed_option,
)
from embedlab.cli._paths import check_output, write_error
from embedlab.data import SHAPES

_HALF_STAR_SHAPES = ("ml-20m", "ml-32m")
#: The generator's arguments as this command's flags, for its messages.
_FLAGS = {
    "n_users": "--users",
    "n_items": "--items",
    "n_ratings": "--ratings",
    "n_genres": "--genres",
    "random_state": "--random-state",
}


@data_app.command("synth")
def synth(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Argument(help="Folder to create (ratings.csv and movies.csv).")],
    shape: Annotated[
        str | None,
        typer.Option(help=f"Sizes of a MovieLens release: {', '.join(SHAPES)} (default ml-100k)."),
    ] = None,
    users: Annotated[
        int | None,
        typer.Option(help="Number of users (with --items and --ratings, instead of --shape)."),
    ] = None,
    items: Annotated[int | None, typer.Option(help="Number of items.")] = None,
    ratings: Annotated[int | None, typer.Option(help="Number of ratings.")] = None,
    genres: Annotated[int, typer.Option(help="Number of planted genres.")] = 8,
    random_state: Annotated[
        int, typer.Option(help="Random seed; the same seed writes the same files.")
    ] = 0,
    half_stars: Annotated[
        bool | None,
        typer.Option(
            "--half-stars/--whole-stars",
            help="Half stars 0.5..5 or whole stars 1..5 (default: half for ml-20m and ml-32m, as in those releases).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT_DIR if it exists.")] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
    seed: SeedAliasOpt = None,
) -> None:
    """Generate MovieLens-shaped ratings with planted genres and write them as CSV.

    The folder has ratings.csv (userId,movieId,rating,timestamp) and movies.csv
    (movieId,title,genres), like MovieLens 20M; every title says "Synthetic".

    Example: embedlab data synth /tmp/syn --shape ml-1m --random-state 1
    """
    from embedlab.data import synthetic_ratings, write_movielens_csv

    random_state = renamed_option(ctx, "random_state", random_state, seed, "--seed")
    sizes = {"--users": users, "--items": items, "--ratings": ratings}
    given = [k for k, v in sizes.items() if v is not None]
    if shape is not None and given:
        raise fail(
            "pass either --shape or --users/--items/--ratings, not both "
            f"(got --shape {shape} and {', '.join(given)})"
        )
    if given:
        missing = [k for k, v in sizes.items() if v is None]
        if missing:
            raise fail(
                f"custom sizes need --users, --items and --ratings; missing {', '.join(missing)}"
            )
        n_users, n_items, n_ratings = users, items, ratings
        label = "custom"
    else:
        label = shape or "ml-100k"
        if label not in SHAPES:
            raise fail(f"unknown --shape {label!r}; expected one of {', '.join(SHAPES)}")
        n_users, n_items, n_ratings = SHAPES[label]
    check_output(out_dir, "folder", "OUT_DIR")
    if out_dir.exists() and not force and not (out_dir.is_dir() and not any(out_dir.iterdir())):
        raise fail(f"{out_dir} already exists and is not empty; pass --force to replace it")
    half = label in _HALF_STAR_SHAPES if half_stars is None else half_stars
    say = output(quiet, verbose, as_json)
    say.settings(
        out_dir=out_dir,
        shape=label,
        users=n_users,
        items=n_items,
        ratings=n_ratings,
        genres=genres,
        random_state=random_state,
        half_stars=half,
        force=force,
    )
    start = time.perf_counter()
    try:
        ds, _ = synthetic_ratings(
            n_users,  # type: ignore[arg-type]
            n_items,  # type: ignore[arg-type]
            n_ratings,  # type: ignore[arg-type]
            n_genres=genres,
            half_stars=half,
            rating_scale=(0.5, 5.0) if half else (1.0, 5.0),
            random_state=random_state,
        )
    except (ValueError, TypeError) as exc:
        raise fail(python_flags(str(exc), _FLAGS)) from None
    try:
        write_movielens_csv(ds, out_dir, overwrite=force)
    except OSError as exc:
        raise write_error("OUT_DIR", out_dir, exc) from None
    seconds = time.perf_counter() - start
    say.done("generated and written")
    if as_json:
        doc = {
            "out": str(out_dir),
            "files": [str(out_dir / "ratings.csv"), str(out_dir / "movies.csv")],
            "shape": label,
            "ratings": len(ds),
            "users": ds.n_users,
            "items": ds.n_items,
            "genres": genres,
            "seed": random_state,
            "half_stars": half,
            "seconds": round(seconds, 3),
        }
        say.result(json.dumps(doc, indent=2))
        return
    say.wrote(
        out_dir,
        f"wrote {out_dir}: {len(ds):,} synthetic ratings, {ds.n_users:,} users, {ds.n_items:,} items, "
        f"{genres} genres ({label}, seed {random_state}, {'half' if half else 'whole'} stars) in {seconds:.1f} s",
    )
