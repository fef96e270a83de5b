"""Label search for :class:`~embedlab.KeyedEmbeddings`: fold, find and resolve labels.

Labels (e.g. titles) are compared folded by :func:`normalize_label`: case, accents,
punctuation, a trailing year and a trailing article do not matter. The functions here
back :meth:`KeyedEmbeddings.find <embedlab.KeyedEmbeddings.find>` and the key-or-label
rule of every method that takes keys (:meth:`~embedlab.KeyedEmbeddings.resolve`).
They read the embeddings' ``keys``, ``labels`` and ``metadata`` only, never vectors.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from embedlab.exceptions import UnknownIDError

if TYPE_CHECKING:  # pragma: no cover
    from embedlab.embeddings._keyed import KeyedEmbeddings

#: Metadata columns that count each key's observations (``min_count=`` and the ties of a
#: search read the first present): ratings or interactions of a model's items, rows of an
#: encoder's levels.
COUNT_COLUMNS = ("n_ratings", "count", "n_rows")


def count_column(metadata: pd.DataFrame | None) -> str | None:
    """The first of :data:`COUNT_COLUMNS` that ``metadata`` has, or None."""
    if metadata is None:
        return None
    return next((c for c in COUNT_COLUMNS if c in metadata.columns), None)


__all__ = [
    "COUNT_COLUMNS",
    "FoldedLabels",
    "find_ids",
    "find_labels",
    "fold_labels",
    "id_row",
    "label_row",
    "normalize_label",
]

_YEAR_RE = re.compile(r"\s*\(\s*(\d{4})\s*(?:[-–]\s*\d{0,4}\s*)?\)\s*$")
_ARTICLE_RE = re.compile(
    r"^(?P<rest>.+?),\s*(?P<art>the|a|an|les|la|le|l'|il|el|das|der|die|den|det)\s*$",
    re.IGNORECASE,
)
_NON_ALNUM_RE = re.compile(r"[^0-9a-z]+")

#: Labels folded without and with their year, one entry per row ("" for a missing label).
FoldedLabels = tuple[np.ndarray, np.ndarray]


def normalize_label(text: Any, *, keep_year: bool = False) -> str:
    """Fold a label or a search text for forgiving comparison.

    Lower case, accents and punctuation dropped, runs of spaces collapsed, a trailing
    year in parentheses dropped (or kept as a last word with ``keep_year=True``), and a
    trailing article moved to the front (MovieLens writes ``"Usual Suspects, The (1995)"``).

    Example:
        >>> normalize_label("Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)")
        'amelie fabuleux destin d amelie poulain le'
        >>> normalize_label("Usual Suspects, The (1995)", keep_year=True)
        'the usual suspects 1995'
    """
    text = str(text).strip()
    year = ""
    match = _YEAR_RE.search(text)
    if match:
        year = match.group(1)
        text = text[: match.start()]
    art = _ARTICLE_RE.match(text)
    if art:
        text = f"{art.group('art')} {art.group('rest')}"
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _NON_ALNUM_RE.sub(" ", text).strip()
    if keep_year and year:
        text = f"{text} {year}".strip()
    return text


def fold_labels(labels: np.ndarray) -> FoldedLabels:
    """Every label folded by :func:`normalize_label`, without and with its year.

    Args:
        labels: One label per row (None for a missing one).

    Returns:
        Two object arrays, ``(plain, dated)``, with ``""`` for a missing label.
    """
    plain = np.array(["" if v is None else normalize_label(v) for v in labels], dtype=object)
    dated = np.array(
        ["" if v is None else normalize_label(v, keep_year=True) for v in labels],
        dtype=object,
    )
    return plain, dated


def find_labels(kv: KeyedEmbeddings, folded: FoldedLabels, text: str, n: int) -> pd.DataFrame:
    """The scoring behind :meth:`KeyedEmbeddings.find <embedlab.KeyedEmbeddings.find>`.

    Args:
        kv: Embeddings with labels.
        folded: ``fold_labels(kv.labels)``.
        text: What to look for.
        n: At most this many candidates (already checked to be >= 1).

    Returns:
        A DataFrame with columns ``key``, ``label`` and ``score``, best first.

    Raises:
        ValueError: If ``text`` has no letters or digits.
    """
    query = normalize_label(text)
    query_dated = normalize_label(text, keep_year=True)
    if not query:
        raise ValueError(f"find({text!r}): the text has no letters or digits; pass part of a label")
    plain, dated = folded
    scores = np.zeros(len(kv), dtype=np.float64)
    lengths = np.array([len(p) for p in plain], dtype=np.float64)
    contains = np.array([query in p for p in plain], dtype=bool)
    words = set(query.split())
    has_words = (
        np.array([bool(p) and words <= set(p.split()) for p in plain], dtype=bool) & ~contains
    )
    ratio = len(query) / np.maximum(lengths, 1.0)
    scores[has_words] = 0.5 + 0.3 * np.minimum(ratio[has_words], 1.0)
    scores[contains] = 0.6 + 0.3 * np.minimum(ratio[contains], 1.0)
    scores[plain == query] = 0.95
    scores[dated == query_dated] = 1.0
    scores[lengths == 0] = 0.0
    if (scores > 0).sum() < n:
        uniq = sorted({p for p in plain if p})
        close = difflib.get_close_matches(query, uniq, n=n, cutoff=0.6)
        for match in close:
            rows = np.flatnonzero(plain == match)
            value = 0.49 * difflib.SequenceMatcher(None, query, match).ratio()
            scores[rows] = np.maximum(scores[rows], value)
    return _ranked_matches(kv, scores, n)


def _popularity(kv: KeyedEmbeddings, rows: np.ndarray) -> np.ndarray:
    """Each row's count (:func:`count_column`), else zeros."""
    column = count_column(kv.metadata)
    if column is None:
        return np.zeros(rows.size)
    return pd.to_numeric(kv.metadata[column], errors="coerce").fillna(0).to_numpy()[rows]


def _ranked_matches(kv: KeyedEmbeddings, scores: np.ndarray, n: int) -> pd.DataFrame:
    """The ``n`` best rows with a positive score; ties to more ratings, then the lower row."""
    rows = np.flatnonzero(scores > 0)
    popularity = _popularity(kv, rows)
    order = np.lexsort((rows, -popularity, -scores[rows]))[:n]
    rows = rows[order]
    if kv.labels is None:
        raise ValueError("these embeddings have no labels; pass labels= to search by title")
    return pd.DataFrame(
        {
            "key": kv.keys.ids(rows),
            "label": kv.labels[rows],
            "score": scores[rows],
        }
    )


def label_row(kv: KeyedEmbeddings, folded: FoldedLabels, query: str) -> int:
    """The row of the one label that ``query`` stands for (see ``KeyedEmbeddings.resolve``).

    Args:
        kv: Embeddings with labels.
        folded: ``fold_labels(kv.labels)``.
        query: A label, e.g. ``"star wars"`` or ``"Hamlet (1996)"``.

    Returns:
        A row number.

    Raises:
        UnknownIDError: For a label that matches no label or several; the one-line
            message lists the closest labels and their keys.
    """
    plain, dated = folded
    for folded_query, table in (
        (normalize_label(query, keep_year=True), dated),
        (normalize_label(query), plain),
    ):
        rows = (
            np.flatnonzero(table == folded_query) if folded_query else np.empty(0, dtype=np.int64)
        )
        if rows.size == 1:
            return int(rows[0])
        if rows.size > 1:
            raise UnknownIDError(
                f"ambiguous label {query!r}: {rows.size} labels match "
                f"({_describe(kv, rows[:5])}); {_disambiguate(kv, folded, rows)}"
            )
    folded_query = normalize_label(query)
    if folded_query:
        rows = np.flatnonzero(np.array([folded_query in p for p in plain], dtype=bool))
        if rows.size == 1:
            return int(rows[0])
        if rows.size > 1:
            best = kv.find(query, n=5)
            raise UnknownIDError(
                f"ambiguous label {query!r}: {rows.size} labels contain it "
                f"(best: {_describe(kv, kv.keys.indices(best['key'].tolist()))}); "
                "pass the key or a fuller label"
            )
        close = kv.find(query, n=5)
    else:
        close = _ranked_matches(kv, np.zeros(len(kv)), 1)
    hint = (
        f"closest: {_describe(kv, kv.keys.indices(close['key'].tolist()))}"
        if len(close)
        else "no label is close"
    )
    raise UnknownIDError(
        f"{query!r} is neither a key nor a label ({len(kv)} keys); {hint}; "
        "use find() to search the labels"
    )


def _disambiguate(kv: KeyedEmbeddings, folded: FoldedLabels, rows: np.ndarray) -> str:
    """How to name one of ``rows``, whose labels all match: by year when the years tell
    them apart, else (the same label, and the same year) by key."""
    plain, dated = folded
    if len({dated[r] for r in rows}) == rows.size:
        return f"pass the label with its year (e.g. {kv.labels[rows[0]]!r}), or the key"
    same = "label and year" if any(dated[r] != plain[r] for r in rows) else "label"
    return (
        f"{'they have' if len({dated[r] for r in rows}) == 1 else 'some have'} the same "
        f"{same}; pass the "
        f"key instead (e.g. {kv.keys.id(int(rows[0]))!r})"
    )


def _describe(kv: KeyedEmbeddings, rows: Iterable[int]) -> str:
    """``'label' (key 50), ...`` for rows, as error messages list them."""
    if kv.labels is None:
        raise ValueError("these embeddings have no labels; pass labels= to search by title")
    return ", ".join(f"{kv.labels[r]!r} (key {kv.keys.id(int(r))!r})" for r in rows)


# ---------------------------------------------------------------- no labels: search the IDs
def _folded_ids(kv: KeyedEmbeddings) -> np.ndarray:
    return np.array([str(k).strip().casefold() for k in kv.keys.ids().tolist()], dtype=object)


def find_ids(kv: KeyedEmbeddings, text: str, n: int) -> pd.DataFrame:
    """:meth:`KeyedEmbeddings.find` for embeddings without labels: IDs that contain ``text``.

    Case does not matter. Scores: 1.0 for the exact ID, 0.7 to 0.9 for an ID that
    starts with the text, 0.5 to 0.7 for one that contains it (the closer in length,
    the higher); ties to more ratings, then the lower row. The ``label`` column holds
    the ID as text.

    Raises:
        ValueError: If ``text`` is empty.
    """
    query = str(text).strip().casefold()
    if not query:
        raise ValueError(f"find({text!r}): the text is empty; pass an ID or part of one")
    ids = _folded_ids(kv)
    ratio = np.array([min(len(query) / max(len(k), 1), 1.0) for k in ids])
    scores = np.zeros(len(kv), dtype=np.float64)
    contains = np.array([query in k for k in ids], dtype=bool)
    starts = np.array([k.startswith(query) for k in ids], dtype=bool)
    scores[contains] = 0.5 + 0.2 * ratio[contains]
    scores[starts] = 0.7 + 0.2 * ratio[starts]
    scores[ids == query] = 1.0
    rows = np.flatnonzero(scores > 0)
    popularity = _popularity(kv, rows)
    rows = rows[np.lexsort((rows, -popularity, -scores[rows]))[:n]]
    keys = kv.keys.ids(rows)
    return pd.DataFrame(
        {"key": keys, "label": [str(k) for k in keys.tolist()], "score": scores[rows]}
    )


def id_row(kv: KeyedEmbeddings, query: str) -> int:
    """The row of the one ID that ``query`` is part of (embeddings without labels).

    An ID equal to the query ignoring case wins; else the query must be part of
    exactly one ID.

    Raises:
        UnknownIDError: When no ID or several contain the query; the one-line message
            lists up to five of them.
    """
    folded = str(query).strip().casefold()
    ids = _folded_ids(kv)
    if folded:
        rows = np.flatnonzero(ids == folded)
        if rows.size == 1:
            return int(rows[0])
        rows = np.flatnonzero(np.array([folded in k for k in ids], dtype=bool))
        if rows.size == 1:
            return int(rows[0])
        if rows.size > 1:
            best = find_ids(kv, query, 5)["key"].tolist()
            raise UnknownIDError(
                f"ambiguous ID {query!r}: {rows.size} IDs contain it (best: "
                f"{', '.join(map(repr, best))}); pass the whole ID"
            )
    example = kv.keys.id(0) if len(kv) else "none"
    raise UnknownIDError(
        f"{query!r} is not a key and no key contains it ({len(kv)} {kv.keys.kind} keys, "
        f"e.g. {example!r}); these embeddings have no labels to search"
    )
