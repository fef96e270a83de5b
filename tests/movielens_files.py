"""A tiny ML-100K-shaped release for tests: its files, a zip of them, its registry entry.

The local HTTP server that serves the zip is the ``movielens_server`` fixture in
``tests/conftest.py``; ``MovieLensServer`` below is what that fixture yields (what the server
does for the next requests, and which requests it got).
"""

from __future__ import annotations

import dataclasses
import io
import threading
import zipfile
from pathlib import Path

from embedlab.data import MovieLensRelease
from embedlab.data._download import get_release

RATINGS = [
    (1, 1, 5, 874965758),
    (1, 2, 3, 876893171),
    (2, 1, 4, 888550871),
    (2, 3, 1, 880606923),
    (3, 2, 2, 886397596),
]
GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]  # fmt: skip


def tiny_ml100k_files(n_rows: int = len(RATINGS)) -> dict[str, bytes]:
    """A tiny folder shaped like ML-100K: same files, formats and encodings."""
    rows = RATINGS[:n_rows]
    data = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows).encode()
    flags = ["|".join("1" if g == k else "0" for g in range(19)) for k in (3, 1, 8)]
    items = (
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{flags[0]}\n"
        f"2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|{flags[1]}\n"
        f"3|Belle époque (1992)|01-Jan-1992||http://us.imdb.com/M/title-exact?Belle%20epoque|{flags[2]}\n"
    ).encode("latin-1")
    users = b"1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|T8H1N\n"
    genre = ("".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)) + "\n").encode()
    files = {
        "u.data": data,
        "u.item": items,
        "u.user": users,
        "u.genre": genre,
        "u.occupation": b"other\ntechnician\nwriter\n",
        "u.info": f"3 users\n3 items\n{n_rows} ratings\n".encode(),
        "README": b"tiny test copy\n",
    }
    lines = data.splitlines(keepends=True)
    for k in ("1", "2", "3", "4", "5", "a", "b"):
        files[f"u{k}.base"] = b"".join(lines[1:])
        files[f"u{k}.test"] = lines[0]
    return files


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` into ``folder`` (created if needed); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def build_zip(files: dict[str, bytes], folder: str = "ml-100k") -> bytes:
    """A zip of ``files`` inside ``folder/`` (at the top level when ``folder`` is empty)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(f"{folder}/{name}" if folder else name, content)
    return buf.getvalue()


# The tiny release as the server serves it by default. Built once: a zip records when each
# member was written, so two builds a second apart differ in their checksums.
TINY_ZIP = build_zip(tiny_ml100k_files())


def tiny_release(**changes: object) -> MovieLensRelease:
    """The ml-100k registry entry with the tiny archive's row count and no pinned checksum."""
    fields = {"n_ratings": len(RATINGS), "md5": None, "sha256": None, "size_bytes": None}
    fields.update(changes)
    return dataclasses.replace(get_release("ml-100k"), **fields)


@dataclasses.dataclass
class MovieLensServer:
    """A local server on 127.0.0.1 (the ``movielens_server`` fixture); tests set what it does.

    Only ``path`` is served (anything else is a 404); ``status`` other than 200 answers every
    request with that error; ``delay`` waits before answering; ``extra_length`` announces a
    Content-Length that many bytes larger than ``body`` and then closes (a truncated body).
    """

    base_url: str
    body: bytes = TINY_ZIP
    status: int = 200
    delay: float = 0.0
    extra_length: int = 0
    path: str = "/ml-100k.zip"
    requests: list[str] = dataclasses.field(default_factory=list)
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
