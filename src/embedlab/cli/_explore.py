"""``embedlab similar``, ``embedlab recommend`` and ``embedlab export``: use a saved model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from embedlab.cli._app import app
from embedlab.cli._options import JsonOpt, Output, QuietOpt, VerboseOpt, output
from embedlab.exceptions import DataError

FORMATS = ("gensim", "word2vec", "projector", "parquet", "npy")


def _load(model_dir: Path, say: Output) -> Any:
    import embedlab

    model = embedlab.load(str(model_dir))
    say.detail(f"loaded {type(model).__name__} from {model_dir}")
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


def _echo_table(frame: pd.DataFrame, score: str) -> None:
    for row in _records(frame):
        name = f"{row['label']} [{row['item']}]" if row.get("label") else str(row["item"])
        line = f"{row['rank']:>3}. {row[score]:+.4f}  {name}"
        if row.get("because"):
            line += f"  (because you liked {'; '.join(map(str, row['because']))})"
        typer.echo(line)


@app.command("similar")
def similar(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle (embedlab train --out DIR).")],
    query: Annotated[str, typer.Argument(help="An item ID, or a title such as 'Star Wars'.")],
    topn: Annotated[int, typer.Option("--topn", help="How many neighbours.")] = 10,
    min_count: Annotated[
        float | None, typer.Option("--min-count", help="Only items with this many ratings.")
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
    if topn < 1:
        raise DataError(f"--topn {topn}: expected an integer >= 1")
    vectors = _load(model_dir, say).item_embeddings()
    key = vectors.resolve(query)
    say.detail(f"query {query!r} is item {key}")
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
    if as_json:
        doc = {"query": _plain(key), "label": _plain(label), "neighbours": _records(found)}
        say.result(json.dumps(doc, indent=2))
        return
    say.info(f"nearest to {label} [{key}]:" if label else f"nearest to {key}:")
    _echo_table(found, "similarity")


@app.command("recommend")
def recommend(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle (embedlab train --out DIR).")],
    user: Annotated[str, typer.Option("--user", help="A user ID from the training data.")],
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
    """Print the items a training user has not rated, highest predicted rating first.

    Example: embedlab recommend runs/mf32 --user 196 --n 5 --explain
    """
    say = output(quiet, verbose, as_json)
    say.settings(model_dir=model_dir, user=user, n=n, min_count=min_count, explain=explain)
    if n < 1:
        raise DataError(f"--n {n}: expected an integer >= 1")
    model = _load(model_dir, say)
    user_id: Any = user
    if model.users_.kind == "int" and user.strip().lstrip("-").isdigit():
        user_id = int(user)
    try:
        recs = model.recommend(user_id, n, min_count=min_count, explain=explain)
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(str(exc).replace("min_count=", "--min-count ")) from None
    say.done("recommended")
    if as_json:
        say.result(json.dumps({"user": user_id, "items": _records(recs)}, indent=2))
        return
    if recs.empty:
        say.info(f"no items left to recommend to user {user}")
        return
    _echo_table(recs, "score")


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
    if fmt not in FORMATS:
        raise DataError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if binary and fmt != "word2vec":
        raise DataError("--binary applies to --format word2vec only")
    model = _load(model_dir, say)
    vectors = model.user_embeddings() if users else model.item_embeddings()
    if fmt == "gensim":
        out.parent.mkdir(parents=True, exist_ok=True)
        vectors.to_gensim().save(str(out))
        written = out
    elif fmt == "word2vec":
        written = vectors.save_word2vec_format(out, binary=binary)
    elif fmt == "projector":
        written = vectors.to_projector(out)
    elif fmt == "parquet":
        written = vectors.to_parquet(out)
    else:
        written = vectors.to_numpy(out)
    what = "user" if users else "item"
    say.done("exported")
    if as_json:
        doc = {"format": fmt, "out": str(written), "vectors": len(vectors), "of": what}
        say.result(json.dumps(doc, indent=2))
        return
    say.wrote(written, f"wrote {len(vectors):,} {what} vectors ({fmt}) to {written}")
