"""``embedlab data fetch`` and ``embedlab data list``: download and list MovieLens releases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from embedlab.cli._data import data_app
from embedlab.cli._options import JsonOpt, QuietOpt, VerboseOpt, output
from embedlab.cli._paths import check_output

__all__ = ["fetch", "list_releases"]


def _size(n: int | None, exact: bool) -> str:
    if n is None:
        return "?"
    text = f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"
    return text if exact else f"~{text}"


@data_app.command("fetch")
def fetch(
    name: Annotated[
        str,
        typer.Argument(
            help="Release: ml-100k, ml-1m, ml-10m, ml-20m, ml-25m, ml-32m, ml-latest-small, ml-latest."
        ),
    ],
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Where releases are kept (default: $EMBEDLAB_CACHE or the user cache).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even if a verified copy is cached.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="BASE_URL",
            help="A mirror serving BASE_URL/<name>.zip (default: GroupLens).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the connection and each read.")
    ] = 30.0,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a MovieLens release into the cache, verified, and print its folder.

    The zip's size and checksum are checked, its content (files, number of ratings)
    too, and the folder appears only when everything passed. A verified copy in the
    cache is reused without any network access.

    Example: embedlab data fetch ml-100k
    """
    from embedlab.data import fetch_movielens

    if cache_dir is not None:  # a read-only cache that holds the release is fine
        check_output(cache_dir, "folder", "--cache-dir", writable=False)
    say = output(quiet, verbose, as_json)
    say.settings(name=name, cache_dir=cache_dir, force=force, url=url, timeout=timeout)
    path = fetch_movielens(
        name, cache_dir=cache_dir, force=force, base_url=url, timeout=timeout, progress=say.progress
    )
    say.done(f"{name} ready")
    if as_json:
        say.result(json.dumps({"name": name, "path": str(path)}, indent=2))
    else:
        say.result(str(path))


def _rows(cache_dir: Path | None) -> list[dict[str, Any]]:
    import os

    from embedlab import _config
    from embedlab.data import MARKER, movielens_releases
    from embedlab.datasets import find_movielens

    env = os.environ.get(_config.DATA_ENV)
    cache = cache_dir.expanduser() if cache_dir is not None else _config.cache_dir()
    env_dir = Path(env).expanduser() if env else None
    rows = []
    for release in movielens_releases():
        path = find_movielens(release, cache_dir=cache)
        where = ""
        if path is not None:
            in_env = env_dir is not None and path.is_relative_to(env_dir)
            where = _config.DATA_ENV if in_env else "cache"
        row = release.to_dict()
        row.update(
            available=where or None,
            path=str(path) if path else None,
            verified=bool(path and (path / MARKER).is_file()),
        )
        rows.append(row)
    return rows


@data_app.command("list")
def list_releases(
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir", help="The cache to look in (default: $EMBEDLAB_CACHE or the user cache)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the releases as a JSON list.")
    ] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """List the MovieLens releases: size, ratings, and whether each is on disk.

    A release is found in $EMBEDLAB_DATA (a folder holding ml-100k/...) or in the
    download cache.

    Example: embedlab data list --json
    """
    say = output(quiet, verbose, as_json)
    say.settings(cache_dir=cache_dir)
    rows = _rows(cache_dir)
    say.done(f"looked for {len(rows)} releases")
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="MovieLens releases", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("size", justify="right")
    table.add_column("ratings", justify="right")
    table.add_column("on disk")
    table.add_column("path", overflow="fold")
    for row in rows:
        ratings = f"{row['n_ratings']:,}" if row["n_ratings"] is not None else "changes"
        table.add_row(
            row["name"],
            _size(row["size_bytes"], exact=row["frozen"]),
            ratings,
            row["available"] or "-",
            row["path"] or "",
        )
    Console().print(table)
