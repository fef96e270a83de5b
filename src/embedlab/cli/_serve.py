"""``embedlab serve``: the web explorer of a saved model or of any vectors file, on 127.0.0.1
by default."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from embedlab.cli._app import app
from embedlab.cli._features import EncoderColumnOpt
from embedlab.cli._options import QuietOpt, VerboseOpt, output
from embedlab.exceptions import DataError

_LOCAL = ("127.0.0.1", "localhost", "::1")
_SUPPORTED = (
    "word2vec text (.txt, .vec) or binary (.bin), a Projector vectors.tsv or folder, "
    "Parquet (.parquet) or NumPy (.npz)"
)
#: Files whose own table --key-column can name (without --metadata).
_TABLES = (".csv", ".tsv", ".parquet", ".pq", ".parq", "")


def _is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / "model.json").is_file()


def _cli_words(message: str) -> str:
    """A message of open_vectors in the words of the command line."""
    for python, cli in (
        ("pass key_column=<column>", "pass --key-column NAME"),
        ("pass key_column= ", "pass --key-column NAME "),
        ("key_column=", "--key-column "),
        ("metadata=", "--metadata "),
        ("; pass fmt= to say which", ""),
    ):
        message = message.replace(python, cli)
    return message


def _check_source(path: Path, metadata: Path | None, key_column: str | None) -> bool:
    """Whether ``path`` is a model bundle (else a vectors file); one-line errors."""
    if not path.exists():
        raise DataError(
            f"PATH {str(path)!r}: not found; expected a model bundle folder (embedlab train "
            f"--out DIR) or a vectors file: {_SUPPORTED}"
        )
    bundle = _is_bundle(path)
    if bundle and (metadata is not None or key_column is not None):
        flag = "--metadata" if metadata is not None else "--key-column"
        raise DataError(
            f"{flag} applies to a vectors file, but {path} is a model bundle (its metadata "
            f"is inside); drop {flag}, or serve a vectors file"
        )
    if (
        path.is_dir()
        and not bundle
        and not ((path / "vectors.tsv").is_file() or (path / "projector_config.pbtxt").is_file())
    ):
        raise DataError(
            f"PATH {str(path)!r}: is a folder with neither model.json (a model bundle) nor "
            "vectors.tsv (a Projector export); expected one of them, or a vectors file"
        )
    if key_column is not None and metadata is None and path.suffix.lower() not in _TABLES:
        raise DataError(
            f"--key-column {key_column!r} names a column of --metadata (or of a CSV/Parquet "
            "table or Projector metadata.tsv); pass --metadata FILE too, or drop --key-column"
        )
    return bundle


@app.command("serve")
def serve(
    path: Annotated[
        Path,
        typer.Argument(
            help="A model bundle (embedlab train --out DIR), or a vectors file: word2vec "
            "text (.txt, .vec) or binary (.bin), a Projector vectors.tsv or folder, "
            "Parquet or .npz.",
            metavar="PATH",
        ),
    ],
    metadata: Annotated[
        Path | None,
        typer.Option(
            "--metadata",
            help="Vectors file only: a CSV/TSV/Parquet table of the items, joined on its "
            "first column (the key); a title/label/name column gives the labels.",
        ),
    ] = None,
    key_column: Annotated[
        str | None,
        typer.Option(
            "--key-column", help="The key column of --metadata (default: its first column)."
        ),
    ] = None,
    column: EncoderColumnOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    map_method: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="tsne, pca or umap (with umap-learn): the map drawn first (default: the "
            "layout stored in the bundle, else tsne).",
        ),
    ] = None,
    n_threads: Annotated[
        int,
        typer.Option("--threads", help="BLAS and torch threads per request (1 suits a server)."),
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Server processes; each loads the model (one per core suits a busy server).",
        ),
    ] = 1,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin", help="Allow API calls from pages of this origin (repeatable)."
        ),
    ] = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Serve a page and a JSON API to explore a model bundle or any vectors in a browser.

    PATH is a model bundle, or vectors from anywhere (word2vec, fastText .vec,
    TensorBoard Projector TSV, Parquet, .npz) with an optional --metadata table.
    Search titles or IDs, see neighbours, solve analogies and look at the map; with a
    model, also get recommendations for a user or for a visitor who rates a few
    items. The API is described at /openapi.json. Only this machine can connect
    unless --host says otherwise; stop with Ctrl+C. There is no --json: it runs a
    server, it does not print data (the API answers in JSON). --verbose adds the
    server's request log.

    Example: embedlab serve runs/mf32 --port 8000 --workers 2

    Example: embedlab serve vectors.txt --metadata items.csv --map pca

    Example: embedlab serve runs/flights-enc --column dest
    """
    say = output(quiet, verbose)
    say.settings(
        path=path,
        metadata=metadata,
        key_column=key_column,
        host=host,
        port=port,
        map=map_method,
        threads=n_threads,
        workers=workers,
        cors_origin=cors_origin,
        column=column,
    )
    if not 0 < port < 65536:
        raise DataError(f"--port {port}: expected 1..65535")
    if map_method is not None and map_method not in ("tsne", "pca", "umap"):
        raise DataError(f"--map {map_method!r}: expected tsne, pca or umap")
    if map_method == "umap" and importlib.util.find_spec("umap") is None:
        raise DataError(
            "--map umap needs umap-learn, which is not installed: pip install umap-learn "
            "(or pass --map tsne or --map pca)"
        )
    if n_threads < 1:
        raise DataError(f"--threads {n_threads}: expected an integer >= 1")
    if workers < 1:
        raise DataError(f"--workers {workers}: expected an integer >= 1")
    bundle = _check_source(path, metadata, key_column)
    from embedlab.cli._features import column_source

    encoder_vectors = column_source(path, column, bundle=bundle)
    encoder = encoder_vectors is not None
    try:
        import uvicorn

        from embedlab.web import create_app, limit_threads
    except ImportError as exc:
        raise DataError(
            f"embedlab serve needs the web extra ({exc.name} is missing): "
            "pip install 'embedlab[web]'"
        ) from None
    # Loaded here even with several workers: a bad bundle or file is one line before any starts.
    options: dict[str, Any] = {"cors_origins": cors_origin or None, "map_method": map_method}
    if encoder_vectors is not None:
        source: Any = encoder_vectors
        options["source_name"] = source.source_
        bundle = False
    elif bundle:
        source = path
    else:
        from embedlab.embeddings import open_vectors

        try:
            source = open_vectors(path, metadata=metadata, key_column=key_column)
        except DataError as exc:
            raise DataError(_cli_words(str(exc))) from None
        options["source_name"] = path.name
    web_app = create_app(source, **options)
    if workers == 1:
        limit_threads(n_threads)
    if host not in _LOCAL:
        typer.echo(
            f"warning: listening on {host}: anyone who can reach this machine can use the API",
            err=True,
        )
    say.done("model loaded" if bundle else f"{len(source):,} vectors loaded")
    what = f"the {source.column_!s} vectors of {path}" if encoder else str(path)
    say.info(f"embedlab explorer of {what} on http://{host}:{port}/ (Ctrl+C stops)")
    level = "info" if verbose else "error" if quiet else "warning"
    if workers == 1:
        uvicorn.run(web_app, host=host, port=port, log_level=level)
        return
    from embedlab.web import SERVE_CONFIG_ENV

    config: dict[str, Any] = {
        "source": str(path.resolve()),
        "n_threads": n_threads,
        **options,
    }
    if encoder:
        # Each worker loads the encoder again and takes the same column's vectors.
        config["encoder"] = {"path": str(path.resolve()), "column": source.column_}
    elif not bundle:
        # Each worker opens the file again: app_from_env hands this to open_vectors.
        config["vectors"] = {
            "path": str(path.resolve()),
            "metadata": None if metadata is None else str(metadata.resolve()),
            "key_column": key_column,
        }
    os.environ[SERVE_CONFIG_ENV] = json.dumps(config)
    say.detail(f"{workers} worker processes share the port")
    uvicorn.run(
        "embedlab.web:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=level,
    )
