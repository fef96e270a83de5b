"""``embedlab data``: inspect, fetch and generate rating datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from embedlab.cli._load_options import (
    FeedbackOpt,
    PositiveThresholdOpt,
    WeightOpt,
    load_feedback,
    load_values,
    with_load_options,
)
from embedlab.cli._options import QuietOpt, VerboseOpt, output
from embedlab.data import DatasetSummary

data_app = typer.Typer(
    help="Inspect, download and generate rating datasets.",
    no_args_is_help=True,
)


def _distribution(dist: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:g}" for k, v in dist.items())


def _implicit_rows(table: Table, summary: DatasetSummary) -> None:
    """The rows of implicit feedback: interactions, weights, per user and item."""
    table.add_row("feedback", "implicit (interactions without ratings)")
    table.add_row("interactions", f"{summary.n_ratings:,} (user, item) pairs")
    table.add_row("users", f"{summary.n_users:,}")
    table.add_row("items", f"{summary.n_items:,}")
    table.add_row("density", f"{summary.density:.4%}")
    weights = summary.weights
    if weights and weights.get("min") == weights.get("max"):
        table.add_row("weights", f"all {weights['min']:g} (every interaction weighs the same)")
    else:
        table.add_row("weights", _distribution(weights))
        table.add_row("weight mean ± std", f"{summary.rating_mean:.3f} ± {summary.rating_std:.3f}")
    for label, dist in (
        ("interactions per user", summary.ratings_per_user),
        ("interactions per item", summary.ratings_per_item),
    ):
        table.add_row(label, _distribution(dist))


def _summary_table(summary: DatasetSummary) -> Table:
    table = Table(title=summary.name, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    if summary.feedback == "implicit":
        _implicit_rows(table, summary)
        _tail_rows(table, summary)
        return table
    table.add_row("feedback", "explicit (ratings)")
    table.add_row("ratings", f"{summary.n_ratings:,}")
    table.add_row("users", f"{summary.n_users:,}")
    table.add_row("items", f"{summary.n_items:,}")
    table.add_row("density", f"{summary.density:.4%}")
    scale = summary.rating_scale
    table.add_row("rating scale", f"{scale[0]:g} to {scale[1]:g}" if scale else "unknown")
    table.add_row("rating mean ± std", f"{summary.rating_mean:.3f} ± {summary.rating_std:.3f}")
    table.add_row(
        "histogram", "  ".join(f"{k}: {v:,}" for k, v in summary.rating_histogram.items())
    )
    for label, dist in (
        ("ratings per user", summary.ratings_per_user),
        ("ratings per item", summary.ratings_per_item),
    ):
        table.add_row(label, _distribution(dist))
    _tail_rows(table, summary)
    return table


def _tail_rows(table: Table, summary: DatasetSummary) -> None:
    """Time range and metadata, for both kinds of feedback."""
    if summary.time_range:
        table.add_row("time", f"{summary.time_range[0]} to {summary.time_range[1]}")
    if summary.item_metadata:
        genres = f" ({summary.n_genres} genres)" if summary.n_genres else ""
        table.add_row("item metadata", ", ".join(summary.item_metadata) + genres)
    if summary.user_metadata:
        table.add_row("user metadata", ", ".join(summary.user_metadata))


@data_app.command("info")
@with_load_options(after="path")
def info(
    path: Annotated[
        Path,
        typer.Argument(help="A MovieLens folder or archive, or a CSV/TSV/Parquet ratings file."),
    ],
    feedback: FeedbackOpt = "explicit",
    weight: WeightOpt = None,
    positive_threshold: PositiveThresholdOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    **table: Any,
) -> None:
    """Print counts, density, rating histogram and ratings per user and item.

    Table options (--user to --name) are the arguments of embedlab.load_ratings.
    With --feedback implicit the file holds interactions without ratings, read as
    embedlab.load_interactions does (--weight, --positive-threshold as for train):
    the summary shows the weights instead of a rating histogram.

    Example: embedlab data info ~/data/ml-100k

    Example: embedlab data info scores.csv --user customer_id --item product_code --sep ";"

    Example: embedlab data info purchases.csv --feedback implicit --weight quantity
    """
    say = output(quiet, verbose, as_json)
    options = load_values(table)
    say.settings(
        path=path,
        feedback=feedback,
        weight=weight,
        positive_threshold=positive_threshold,
        **options,
    )
    dataset = load_feedback(
        path, options, feedback=feedback, weight=weight, threshold=positive_threshold
    )
    summary = dataset.describe()
    say.done("loaded and described")
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        Console().print(_summary_table(summary))
