"""``embedlab serve``: the web explorer of a saved model, on 127.0.0.1 by default."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from embedlab.cli._app import app
from embedlab.cli._options import QuietOpt, VerboseOpt, output
from embedlab.exceptions import DataError

_LOCAL = ("127.0.0.1", "localhost", "::1")


@app.command("serve")
def serve(
    model_dir: Annotated[Path, typer.Argument(help="A model bundle (embedlab train --out DIR).")],
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    map_method: Annotated[
        str, typer.Option("--map", help="tsne or pca: how the 2-D map is drawn.")
    ] = "tsne",
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
    """Serve a page and a JSON API to explore MODEL_DIR in a browser.

    Search titles, see neighbours, solve analogies, get recommendations for a
    user or for a visitor who rates a few items, and look at the map. The API is
    described at /openapi.json. Only this machine can connect unless --host says
    otherwise; stop with Ctrl+C. There is no --json: it runs a server, it does not
    print data (the API answers in JSON). --verbose adds the server's request log.

    Example: embedlab serve runs/mf32 --port 8000 --workers 2
    """
    say = output(quiet, verbose)
    say.settings(
        model_dir=model_dir,
        host=host,
        port=port,
        map=map_method,
        threads=n_threads,
        workers=workers,
        cors_origin=cors_origin,
    )
    if not 0 < port < 65536:
        raise DataError(f"--port {port}: expected 1..65535")
    if map_method not in ("tsne", "pca"):
        raise DataError(f"--map {map_method!r}: expected tsne or pca")
    try:
        import uvicorn

        from embedlab.web import create_app, limit_threads
    except ImportError as exc:
        raise DataError(
            f"embedlab serve needs the web extra ({exc.name} is missing): "
            "pip install 'embedlab[web]'"
        ) from None
    if n_threads < 1:
        raise DataError(f"--threads {n_threads}: expected an integer >= 1")
    if workers < 1:
        raise DataError(f"--workers {workers}: expected an integer >= 1")
    # Loaded here even with several workers: a bad bundle is one line before any starts.
    web_app = create_app(model_dir, cors_origins=cors_origin or None, map_method=map_method)
    if workers == 1:
        limit_threads(n_threads)
    if host not in _LOCAL:
        typer.echo(
            f"warning: listening on {host}: anyone who can reach this machine can use the API",
            err=True,
        )
    say.done("model loaded")
    say.info(f"embedlab explorer of {model_dir} on http://{host}:{port}/ (Ctrl+C stops)")
    level = "info" if verbose else "error" if quiet else "warning"
    if workers == 1:
        uvicorn.run(web_app, host=host, port=port, log_level=level)
        return
    from embedlab.web import SERVE_CONFIG_ENV

    os.environ[SERVE_CONFIG_ENV] = json.dumps(
        {
            "source": str(Path(model_dir).resolve()),
            "cors_origins": cors_origin or None,
            "map_method": map_method,
            "n_threads": n_threads,
        }
    )
    say.detail(f"{workers} worker processes share the port")
    uvicorn.run(
        "embedlab.web:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=level,
    )
