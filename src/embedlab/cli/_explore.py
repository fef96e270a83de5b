"""``embedlab similar``, ``embedlab recommend`` and ``embedlab export``: use a saved model.

The commands read the bundle with :func:`embedlab.io.load_lookup` (NumPy only, the same
answers as :func:`embedlab.load`'s estimator): they never import torch or numba, whose
import alone takes longer than the lookup.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from embedlab.cli._app import app
from embedlab.cli._options import JsonOpt, Output, QuietOpt, VerboseOpt, output
from embedlab.cli._paths import check_output, write_error, write_staged
from embedlab.data import parse_id
from embedlab.exceptions import DataError, UnknownIDError

if TYPE_CHECKING:  # pragma: no cover
    from embedlab.io import LookupModel

FORMATS = ("gensim", "word2vec", "projector", "parquet", "npy")

#: The model class of a bundle trained on implicit feedback (its scores are not ratings).
IMPLICIT_MODEL = "ImplicitMatrixFactorization"


def _lookup(model_dir: Path, say: Output) -> LookupModel:
    """The bundle's tables for a lookup (no torch), checked as :func:`embedlab.load` does."""
    from embedlab.io import load_lookup

    model = load_lookup(str(model_dir))
    say.detail(f"loaded {model.model_class} from {model_dir}")
    return model


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value (NumPy scalars, NaN/None, lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {col: _plain(val) for col, val in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _echo_table(frame: pd.DataFrame, score: str, width: int = 0) -> None:
    for row in _records(frame):
        name = f"{row['label']} [{row['item']}]" if row.get("label") else str(row["item"])
        value = f"{row[score]:.4f}" if width else f"{row[score]:+.4f}"
        line = f"{row['rank']:>3}. {value:>{width}}  {name}"
        if row.get("because"):
            line += f"  (because you liked {'; '.join(map(str, row['because']))})"
        typer.echo(line)


@app.command("similar")
def similar(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle (embedlab train --out DIR).")],
    query: Annotated[str, typer.Argument(help="An item ID, or a title such as 'Star Wars'.")],
    topn: Annotated[int, typer.Option("--topn", help="How many neighbours.")] = 10,
    min_count: Annotated[
        float | None,
        typer.Option("--min-count", help="Only items with this many ratings (or interactions)."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the items nearest to QUERY by cosine of the item embeddings.

    QUERY is an item ID or a title: case, accents and the year are optional,
    and a unique part of a title works. The query itself is not listed.

    Example: embedlab similar runs/mf32 "Star Wars" --topn 5 --min-count 100
    """
    say = output(quiet, verbose, as_json)
    say.settings(model_dir=model_dir, query=query, topn=topn, min_count=min_count)
    check_topn(topn)
    print_neighbours(_lookup(model_dir, say).item_embeddings(), query, topn, min_count, say)


def check_topn(topn: int) -> None:
    if topn < 1:
        raise DataError(f"--topn {topn}: expected an integer >= 1")


def print_neighbours(
    vectors: Any, query: str, topn: int, min_count: float | None, say: Output
) -> None:
    """The ``topn`` keys nearest to ``query`` (a key or a label) by cosine, as the
    lookup commands print them (a table, or JSON with ``--json``)."""
    key = vectors.resolve(query)
    say.detail(f"query {query!r} is {key}")
    try:
        found = vectors.most_similar(key, topn=topn, min_count=min_count)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    found = found.rename(columns={"key": "item"})
    found.insert(0, "rank", range(1, len(found) + 1))
    if "label" not in found.columns:
        found["label"] = None
    label = vectors.get_label(key)
    say.done("searched")
    if say.as_json:
        doc = {"query": _plain(key), "label": _plain(label), "neighbours": _records(found)}
        say.result(json.dumps(doc, indent=2))
        return
    say.info(f"nearest to {label} [{key}]:" if label else f"nearest to {key}:")
    _echo_table(found, "similarity")


def _visitor_ratings(model: LookupModel, rates: list[str]) -> dict[Any, float]:
    """``--rate ITEM=RATING`` values as ``{item ID: rating}``, items resolved like ``similar``;
    for a model of implicit feedback ``ITEM=WEIGHT`` (>= 0) or ``ITEM`` (weight 1)."""
    vectors = model.item_embeddings()
    implicit = model.model_class == IMPLICIT_MODEL
    ratings: dict[Any, float] = {}
    for value in rates:
        item, sep, number = value.rpartition("=")
        try:
            rating = float(number)
        except ValueError:
            rating = math.nan
        if implicit and (not sep or not math.isfinite(rating)):
            item, rating = value, 1.0  # ITEM alone: one interaction
        if implicit and rating < 0:
            raise DataError(
                f"--rate {value!r}: the weight {rating:g} is negative; expected ITEM=WEIGHT with "
                "a weight >= 0, or ITEM alone (weight 1)"
            )
        if (not sep and not implicit) or not item.strip() or not math.isfinite(rating):
            raise DataError(f"--rate {value!r}: expected ITEM=RATING, e.g. --rate 'Star Wars=5'")
        query: Any = parse_id(item.strip(), model.items_.kind)
        try:
            key = vectors.resolve(query)
        except UnknownIDError as exc:
            raise UnknownIDError(f"--rate {value!r}: {exc.args[0] if exc.args else exc}") from None
        if key in ratings:
            raise DataError(f"--rate {value!r}: item {key!r} is rated twice; rate each item once")
        ratings[key] = rating
    return ratings


@app.command("recommend")
def recommend(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle (embedlab train --out DIR).")],
    user: Annotated[
        str | None, typer.Option("--user", help="A user ID from the training data.")
    ] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate",
            metavar="ITEM=RATING",
            help="A new visitor's rating of an item (ID or label, as for similar); for a "
            "model of implicit feedback ITEM=WEIGHT or ITEM alone (weight 1); repeatable.",
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="How many items.")] = 10,
    min_count: Annotated[
        float | None, typer.Option("--min-count", help="Only items with this many ratings.")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Say which liked items each pick is closest to.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print the items with the highest predicted rating, for a user or a new visitor.

    --user ID: a user of the training data; the items they rated are left out.

    --rate ITEM=RATING (repeatable): a new visitor who rated these items; they
    are placed in the model without retraining and the rated items are left out.

    Pass exactly one of the two. The score is the predicted rating, on the
    training data's scale; for a model of implicit feedback (embedlab train
    --feedback implicit) a preference score, which ranks items but is not a
    rating.

    Example: embedlab recommend runs/mf32 --user 196 --n 5 --explain

    Example: embedlab recommend runs/mf32 --rate "Star Wars=5" --rate "Fargo=4"
    """
    say = output(quiet, verbose, as_json)
    say.settings(
        model_dir=model_dir, user=user, rate=rate, n=n, min_count=min_count, explain=explain
    )
    if user is not None and rate:
        raise DataError("--user and --rate exclude each other; pass one of them")
    if user is None and not rate:
        raise DataError(
            "pass --user ID (a training user) or --rate ITEM=RATING (a new visitor, repeatable)"
        )
    if n < 1:
        raise DataError(f"--n {n}: expected an integer >= 1")
    model = _lookup(model_dir, say)
    try:
        if rate:
            ratings = _visitor_ratings(model, rate)
            say.detail(f"visitor ratings: {ratings}")
            recs = model.recommend_for_ratings(ratings, n, min_count=min_count, explain=explain)
            who: dict[str, Any] = {"ratings": [[_plain(k), v] for k, v in ratings.items()]}
        else:
            user_id: Any = parse_id(str(user), model.users_.kind)
            recs = model.recommend(user_id, n, min_count=min_count, explain=explain)
            who = {"user": user_id}
    except UnknownIDError as exc:
        message = str(exc.args[0] if exc.args else exc)
        message = message.replace("recommend() needs", "--user needs").replace(
            "recommend_for_ratings({item ID: rating, ...})", "--rate ITEM=RATING (repeatable)"
        )
        raise UnknownIDError(message) from None
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(str(exc).replace("min_count=", "--min-count ")) from None
    say.done("recommended")
    score = "preference score" if model.model_class == IMPLICIT_MODEL else "predicted rating"
    if as_json:
        doc = {**who, "score": score, "items": _records(recs)}
        say.result(json.dumps(doc, indent=2))
        return
    if recs.empty:
        say.info(f"no items left to recommend to user {user}" if user else "no items left")
        return
    say.info(f"{'rank':>4} {score:>16}  item")
    _echo_table(recs, "score", width=16)


@app.command("export")
def export(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle (embedlab train --out DIR).")],
    fmt: Annotated[
        str, typer.Option("--format", help="gensim, word2vec, projector, parquet or npy.")
    ],
    out: Annotated[Path, typer.Option("--out", help="File (or folder, for projector) to write.")],
    users: Annotated[
        bool, typer.Option("--users", help="Export the user vectors instead of the items'.")
    ] = False,
    binary: Annotated[
        bool, typer.Option("--binary", help="word2vec: the binary format instead of text.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write the item (or user) embeddings for other tools.

    gensim: gensim's native KeyedVectors file (KeyedVectors.load(PATH)). It is
    pickle-based: load it only from sources you trust; word2vec is pickle-free.

    word2vec: the word2vec text format (--binary: binary), keys are the IDs.

    projector: a folder for the TensorBoard Embedding Projector.

    parquet: one table of keys, labels, metadata and vectors.

    npy: an .npz of vectors, keys and labels (no pickle).

    Example: embedlab export runs/mf32 --format word2vec --out items.w2v
    """
    say = output(quiet, verbose, as_json)
    say.settings(model_dir=model_dir, format=fmt, out=out, users=users, binary=binary)
    check_export(fmt, out, binary)
    model = _lookup(model_dir, say)
    vectors = model.user_embeddings() if users else model.item_embeddings()
    write_vectors(vectors, fmt, out, say, what="user" if users else "item", binary=binary)


def check_export(fmt: str, out: Path, binary: bool = False) -> None:
    """One-line errors for an export's ``--format``, ``--binary`` and ``--out``."""
    if fmt not in FORMATS:
        raise DataError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if binary and fmt != "word2vec":
        raise DataError("--binary applies to --format word2vec only")
    if fmt == "projector":
        check_output(
            out, "folder", "--out", marker="projector_config.pbtxt", what="a projector export"
        )
    else:
        check_output(out, "file", "--out")


def write_vectors(
    vectors: Any, fmt: str, out: Path, say: Output, *, what: str, binary: bool = False
) -> None:
    """Write ``vectors`` (checked by :func:`check_export`) in ``fmt`` to ``out``, staged."""
    writers = {
        "gensim": lambda path: vectors.to_gensim().save(str(path)),
        "word2vec": lambda path: vectors.save_word2vec_format(path, binary=binary),
        "projector": vectors.to_projector,
        "parquet": vectors.to_parquet,
        "npy": vectors.to_numpy,
    }
    try:
        # Every file (side files, a projector's three) is complete before any is renamed
        # into place: a failed write leaves earlier exports as they were.
        write_staged(out, writers[fmt])
    except ImportError as exc:
        raise DataError(f"--format {fmt}: {exc}") from None
    except OSError as exc:
        raise write_error("--out", out, exc) from None
    written = out
    say.done("exported")
    if say.as_json:
        doc = {"format": fmt, "out": str(written), "vectors": len(vectors), "of": what}
        say.result(json.dumps(doc, indent=2))
        return
    say.wrote(written, f"wrote {len(vectors):,} {what} vectors ({fmt}) to {written}")
