"""Shared by the examples: command-line options, the data, the output folder."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import embedlab as el


def options(description: str) -> argparse.Namespace:
    """Parse ``--data PATH`` (a MovieLens folder or ratings file) and ``--out DIR``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", help="MovieLens folder/zip or ratings file (default: synthetic)")
    parser.add_argument("--out", help="folder for outputs (default: a temporary folder)")
    return parser.parse_args()


def dataset(args: argparse.Namespace) -> el.Interactions:
    """The ratings: ``--data`` if given, else a small synthetic MovieLens-shaped catalogue."""
    if args.data:
        from embedlab.data import load

        return load(args.data)
    ds, _truth = el.synthetic_ratings(600, 300, 30_000, random_state=0)
    return ds


def out_dir(args: argparse.Namespace) -> Path:
    """``--out`` (created), or a fresh temporary folder; never the repository."""
    if args.out:
        path = Path(args.out)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="embedlab-example-"))
