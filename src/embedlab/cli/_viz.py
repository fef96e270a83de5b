"""``embedlab map`` and ``embedlab plot``: pictures of a saved model and of experiment results.

``map`` draws the item embeddings of a model bundle in 2-D (t-SNE, UMAP or PCA) as a
PNG/SVG picture or an interactive HTML page; ``plot history|biases|sweep|obscurity``
draws the learning curves and item biases of a bundle, the CSV that ``embedlab
experiment ... --out`` writes, or a table of recommended items' rating counts. Every
picture comes from :mod:`embedlab.viz`; bad options end in one line and exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._features import EncoderColumnOpt, column_source
from embedlab.cli._options import (
    JsonOpt,
    Output,
    QuietOpt,
    SeedAliasOpt,
    VerboseOpt,
    output,
    python_flags,
    renamed_option,
)
from embedlab.cli._paths import check_output, write_error, write_staged
from embedlab.exceptions import DataError

plot_app = typer.Typer(
    help="Plot a model's learning curves or item biases, or an experiment's results.",
    no_args_is_help=True,
)
app.add_typer(plot_app, name="plot")

ModelDir = Annotated[Path, typer.Argument(help="A model bundle folder (embedlab train --out).")]
_STATIC = (".png", ".svg", ".pdf", ".html")


def _viz() -> Any:
    try:
        import embedlab.viz as viz
    except ImportError as exc:
        raise DataError(
            f"pictures need the viz extra ({exc.name or exc} is missing): "
            "pip install 'embedlab[viz]'"
        ) from None
    return viz


def _out(path: Path, allowed: tuple[str, ...] = _STATIC) -> Path:
    """``--out``, checked before any work: a known picture type, a file path that can be written."""
    if path.suffix.lower() not in allowed:
        raise DataError(
            f"--out {path}: unknown file type {path.suffix or '(none)'!r}; "
            f"expected one of {', '.join(allowed)}"
        )
    return check_output(path, "file", "--out")


def _load(model_dir: Path, say: Output) -> Any:
    import embedlab

    model = embedlab.load(str(model_dir))
    say.detail(f"loaded {type(model).__name__} from {model_dir}")
    return model


#: The viz functions' arguments as the flags of ``map`` and ``plot``, for their messages.
_FLAGS = {
    name: "--" + name.replace("_", "-")
    for name in ("method", "color", "top_n", "genre", "label_top", "perplexity", "random_state")
} | {"n": "--n", "min_count": "--min-count", "by": "--by"}


def _draw(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a viz function; bad options become a user error (naming the flags)."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError, ImportError) as exc:
        if isinstance(exc, DataError):
            # embedlab's own message, with the Python names as the command's flags
            exc.args = (python_flags(str(exc), _FLAGS), *exc.args[1:])
            raise
        raise DataError(python_flags(str(exc), _FLAGS)) from None


def _save(picture: Any, out: Path, say: Output, **extra: Any) -> None:
    """Write the picture, then print its path (or JSON: ``out`` and ``extra``)."""
    try:
        write_staged(out, picture.save)
    except OSError as exc:
        raise write_error("--out", out, exc) from None
    say.done("drawn and written")
    if say.as_json:
        say.result(json.dumps({"out": str(out), **extra}, indent=2))
    else:
        say.wrote(out)


def _read_table(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except Exception as exc:  # any parse failure is a problem of the user's file
        raise DataError(f"{path}: cannot read as a table ({type(exc).__name__}: {exc})") from None


@app.command("map")
def map_command(
    ctx: typer.Context,
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", help="map.html (interactive) or map.png/.svg.")],
    method: Annotated[str, typer.Option("--method", help="tsne, umap or pca.")] = "tsne",
    color: Annotated[
        str,
        typer.Option(
            "--color",
            help="auto (genres, else rating count, else bias), any metadata column "
            "(categorical or numeric) or none.",
        ),
    ] = "auto",
    top_n: Annotated[
        int | None, typer.Option("--top-n", help="Only the N most-rated items.")
    ] = None,
    genre: Annotated[str | None, typer.Option("--genre", help="Only items of this genre.")] = None,
    label_top: Annotated[
        int, typer.Option("--label-top", help="Label the N most-rated items (0: none).")
    ] = 20,
    perplexity: Annotated[float, typer.Option("--perplexity", help="t-SNE perplexity.")] = 30,
    random_state: Annotated[
        int, typer.Option("--random-state", help="Seed of the projection.")
    ] = 0,
    title: Annotated[str | None, typer.Option("--title", help="Title (default: made up).")] = None,
    column: EncoderColumnOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    seed: SeedAliasOpt = None,
) -> None:
    """Draw a model's item embeddings in 2-D, coloured by genre or a column.

    Multi-genre items take their rarest genre (the legend says so). The
    HTML page works offline: hover for title, genres and rating count,
    click the legend to hide groups, search a title to highlight it and
    its 10 nearest neighbours. An encoder bundle (embedlab features fit)
    draws one categorical column's levels (--column), coloured and ranked
    by their rows.

    Example: embedlab map runs/mf32 --color genre --top-n 1000 --out map.html
    """
    random_state = renamed_option(ctx, "random_state", random_state, seed, "--seed")
    say = output(quiet, verbose, as_json)
    say.settings(
        model_dir=model_dir,
        out=out,
        method=method,
        color=color,
        top_n=top_n,
        genre=genre,
        label_top=label_top,
        perplexity=perplexity,
        random_state=random_state,
    )
    _out(out)
    viz = _viz()
    data = f"bundle '{model_dir.resolve().name}'"
    source = column_source(model_dir, column, bundle=model_dir.is_dir())
    if source is not None:
        data += f", column '{source.column_}'"  # type: ignore[attr-defined]
        say.detail(f"loaded the {source.column_!s} vectors of {model_dir}")  # type: ignore[attr-defined]
    model = source if source is not None else _load(model_dir, say)
    picture = _draw(
        viz.embedding_map,
        model,
        method,
        color=None if color.lower() == "none" else color,
        label_top=label_top,
        title=title,
        data=data,
        top_n=top_n,
        genre=genre,
        perplexity=perplexity,
        random_state=random_state,
    )
    _save(picture, out, say, method=method, color=color)


@plot_app.command("history")
def plot_history(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", help="curves.png (or .svg, .pdf, .html).")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Learning curves of a saved model: train loss and validation error.

    Example: embedlab plot history runs/mf32 --out curves.png
    """
    say = output(quiet, verbose, as_json)
    say.settings(model_dir=model_dir, out=out)
    _out(out)
    viz = _viz()
    model = _load(model_dir, say)
    _save(_draw(viz.learning_curves, model), out, say, epochs=len(model.history_))


@plot_app.command("biases")
def plot_biases(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option("--out", help="biases.png (or .svg, .pdf, .html).")],
    n: Annotated[int, typer.Option("--n", help="Items shown at each end.")] = 15,
    min_count: Annotated[
        int, typer.Option("--min-count", help="Leave out items with fewer ratings.")
    ] = 0,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """The items with the highest and lowest bias, with their rating counts.

    Example: embedlab plot biases runs/mf32 --n 15 --min-count 20 --out biases.png
    """
    say = output(quiet, verbose, as_json)
    say.settings(model_dir=model_dir, out=out, n=n, min_count=min_count)
    _out(out)
    viz = _viz()
    model = _load(model_dir, say)
    _save(_draw(viz.bias_plot, model, n=n, min_count=min_count), out, say)


@plot_app.command("sweep")
def plot_sweep(
    results: Annotated[
        Path, typer.Argument(help="The CSV of embedlab experiment size-sweep|l2|biases --out.")
    ],
    out: Annotated[Path, typer.Option("--out", help="sweep.png (or .svg, .pdf, .html).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Setting column (default: size, l2 or biases).")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Training against validation error across an experiment's settings.

    RESULTS is the CSV of: embedlab experiment size-sweep DATA --out sizes.csv

    Example: embedlab plot sweep sizes.csv --out sweep.png
    """
    say = output(quiet, verbose, as_json)
    say.settings(results=results, out=out, by=by)
    _out(out)
    viz = _viz()
    frame = _read_table(results)
    say.detail(f"read {len(frame):,} rows from {results}")
    _save(_draw(viz.sweep_plot, frame, by=by), out, say, rows=len(frame))


@plot_app.command("obscurity")
def plot_obscurity(
    results: Annotated[
        Path, typer.Argument(help="CSV with one row per recommended item: model, n_ratings.")
    ],
    out: Annotated[Path, typer.Option("--out", help="obscurity.png (or .svg, .pdf, .html).")],
    model: Annotated[
        str, typer.Option("--model-column", help="Column naming the model.")
    ] = "model",
    count: Annotated[
        str, typer.Option("--count-column", help="Column of rating counts.")
    ] = "n_ratings",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Rating counts of the items each model recommends: popularity bias.

    Example: embedlab plot obscurity recommended.csv --out obscurity.png
    """
    say = output(quiet, verbose, as_json)
    say.settings(results=results, out=out, model_column=model, count_column=count)
    _out(out)
    viz = _viz()
    frame = _read_table(results)
    say.detail(f"read {len(frame):,} rows from {results}")
    _save(_draw(viz.obscurity_plot, frame, model=model, count=count), out, say, rows=len(frame))
