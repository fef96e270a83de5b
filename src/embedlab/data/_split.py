"""Train/test splits that share vocabularies.

Every split returns :class:`Split` objects whose ``train`` and ``test`` are subsets
of the input (:meth:`Interactions.subset`): they share its user and item
vocabularies (the very same objects) and metadata, so an index means the same user
or item on both sides. Rows keep their input order inside each side.

Methods of :func:`split`:

``"random"``
    Ratings drawn uniformly at random (``test_size``, ``random_state``).
``"user"``
    Per-user holdout: each user's newest ratings (or a seeded random choice of
    them) go to test, while at least ``min_train`` of the user's ratings stay in
    train (``test_size`` per user or ``n_test``, ``min_train``, ``by``, ``random_state``).
``"temporal"``
    A global time cutoff: ratings at or after ``cutoff`` go to test (``cutoff``
    or ``test_size``).

Implicit data (``feedback="implicit"``: every row a positive interaction) splits the
same way: ``"user"`` with ``test_size`` holds out that fraction of each user's
positives (``by="random"``, seeded) or each user's latest positives (``by="time"``,
the temporal per-user variant); users with too few positives to hold one out (a
fraction that rounds to 0, or no more than ``min_train`` positives) stay wholly in
train. For rating data, make the positives first with
:meth:`Interactions.to_implicit` (``ds.to_implicit(threshold=4).split("user", ...)``).

Methods of :func:`folds`: ``"kfold"`` (``k``, ``random_state``) and the predefined
MovieLens 100K folds ``"ml-100k-u"`` (u1..u5), ``"ml-100k-a"`` and ``"ml-100k-b"``
(ua, ub), which need ``path`` (the ML-100K folder holding ``u1.base``...).

``seed`` is the deprecated name of ``random_state`` (it warns; removed in the next
release).
"""

from __future__ import annotations

import datetime as _dt
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from embedlab.data._interactions import Interactions
from embedlab.exceptions import DataError
from embedlab.settings import renamed

__all__ = ["FOLD_METHODS", "SPLIT_METHODS", "Split", "folds", "split"]

SPLIT_METHODS = ("random", "user", "temporal")
FOLD_METHODS = ("kfold", "ml-100k-u", "ml-100k-a", "ml-100k-b")


@dataclass(frozen=True)
class Split:
    """A train/test pair over the same vocabularies; unpacks as ``train, test = split``.

    Attributes:
        train: Training ratings.
        test: Test ratings.
        name: How the split was made (e.g. ``"random(test_size=0.1, random_state=0)"``,
            ``"u1"``).
    """

    train: Interactions
    test: Interactions
    name: str = "split"

    def __iter__(self) -> Any:
        return iter((self.train, self.test))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Interactions:
        return (self.train, self.test)[i]

    @property
    def unseen_users(self) -> int:
        """Number of distinct test users with no rating in train (cold-start users)."""
        seen = np.bincount(self.train.user_index, minlength=self.train.n_users) > 0
        tested = np.bincount(self.test.user_index, minlength=self.test.n_users) > 0
        return int((tested & ~seen).sum())

    @property
    def unseen_items(self) -> int:
        """Number of distinct test items with no rating in train (cold-start items)."""
        seen = np.bincount(self.train.item_index, minlength=self.train.n_items) > 0
        tested = np.bincount(self.test.item_index, minlength=self.test.n_items) > 0
        return int((tested & ~seen).sum())

    def describe(self) -> dict[str, Any]:
        """Sizes and cold-start counts, JSON-ready."""
        return {
            "name": self.name,
            "train_ratings": len(self.train),
            "test_ratings": len(self.test),
            "test_users": int(np.count_nonzero(np.bincount(self.test.user_index))),
            "test_items": int(np.count_nonzero(np.bincount(self.test.item_index))),
            "unseen_users": self.unseen_users,
            "unseen_items": self.unseen_items,
        }

    def __repr__(self) -> str:
        return (
            f"Split({self.name!r}: train {len(self.train):,}, test {len(self.test):,}, "
            f"unseen users {self.unseen_users}, unseen items {self.unseen_items})"
        )


# ---------------------------------------------------------------------- option checks
def _check_options(method: str, options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DataError(
            f"split method {method!r} got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(allowed)}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_random_state(random_state: Any) -> int | None:
    if random_state is None:
        return None
    if not _is_int(random_state) or int(random_state) < 0:
        raise DataError(
            f"random_state={random_state!r}: expected a non-negative integer "
            "(or None for a fresh random seed)"
        )
    return int(random_state)


def _test_count(test_size: Any, n: int, *, what: str = "ratings") -> int:
    """Turn ``test_size`` (fraction in (0, 1) or a count) into a number of test rows."""
    if _is_int(test_size):
        count = int(test_size)
        if not 1 <= count < n:
            raise DataError(
                f"test_size={count}: as a count it must lie in 1..{n - 1} (there are {n} {what}); "
                "pass a fraction in (0, 1) instead"
            )
        return count
    if isinstance(test_size, numbers.Real) and not isinstance(test_size, (bool, np.bool_)):
        frac = float(test_size)
        if not 0.0 < frac < 1.0:
            raise DataError(
                f"test_size={test_size!r}: expected a fraction in (0, 1) or a count of {what}"
            )
        count = int(np.floor(frac * n + 0.5))
        if count == 0:
            raise DataError(
                f"test_size={test_size!r} of {n} {what} leaves the test set empty; pass a larger test_size"
            )
        if count >= n:
            raise DataError(
                f"test_size={test_size!r} of {n} {what} leaves the training set empty; pass a smaller test_size"
            )
        return count
    raise DataError(
        f"test_size={test_size!r}: expected a fraction in (0, 1) or an integer count of {what}"
    )


def _check_fraction(test_size: Any) -> float:
    if (
        isinstance(test_size, numbers.Real)
        and not isinstance(test_size, (bool, np.bool_))
        and not _is_int(test_size)
    ):
        frac = float(test_size)
        if 0.0 < frac < 1.0:
            return frac
    raise DataError(
        f"test_size={test_size!r}: expected a fraction of each user's ratings in (0, 1)"
    )


def _cutoff_seconds(cutoff: Any) -> int:
    """Unix seconds of a cutoff given as seconds, a date string, a date or a datetime.

    Naive dates and datetimes are read as UTC, like timestamps in the data.
    """
    if _is_int(cutoff):
        return int(cutoff)
    if isinstance(cutoff, numbers.Real) and not isinstance(cutoff, (bool, np.bool_)):
        if not np.isfinite(float(cutoff)):
            raise DataError(
                f"cutoff={cutoff!r}: expected Unix seconds or a date such as '2015-01-01'"
            )
        return int(np.floor(float(cutoff)))
    if isinstance(cutoff, (str, _dt.date, _dt.datetime, pd.Timestamp, np.datetime64)):
        try:
            stamp = pd.Timestamp(cutoff)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"cutoff={cutoff!r}: not a date ({exc}); expected e.g. '2015-01-01' or Unix seconds"
            ) from None
        if stamp is pd.NaT:
            raise DataError(
                f"cutoff={cutoff!r}: not a date; expected e.g. '2015-01-01' or Unix seconds"
            )
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return int((stamp - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1))
    raise DataError(
        f"cutoff={cutoff!r}: expected Unix seconds (int) or a date such as '2015-01-01'"
    )


def _iso(seconds: int) -> str:
    return pd.Timestamp(seconds, unit="s").isoformat()


def _make(ds: Interactions, test_mask: np.ndarray, name: str) -> Split:
    n_test = int(test_mask.sum())
    if n_test == 0:
        raise DataError(
            f"split {name}: the test set is empty; choose options that hold out some ratings"
        )
    if n_test == len(ds):
        raise DataError(
            f"split {name}: the training set is empty; choose options that keep some ratings in train"
        )
    return Split(ds.subset(~test_mask), ds.subset(test_mask), name=name)


def _check_dataset(ds: Any) -> Interactions:
    if not isinstance(ds, Interactions):
        raise TypeError(f"expected an Interactions dataset, got {type(ds).__name__}")
    if len(ds) < 2:
        raise DataError(f"cannot split {len(ds)} rating(s); a split needs at least 2")
    return ds


# ---------------------------------------------------------------------- methods
def _random(ds: Interactions, *, test_size: Any = 0.2, random_state: Any = 0) -> Split:
    n = len(ds)
    n_test = _test_count(test_size, n)
    random_state = _check_random_state(random_state)
    rng = np.random.default_rng(random_state)
    mask = np.zeros(n, dtype=np.bool_)
    mask[rng.permutation(n)[:n_test]] = True
    return _make(ds, mask, f"random(test_size={test_size!r}, random_state={random_state!r})")


def _user(
    ds: Interactions,
    *,
    test_size: Any = None,
    n_test: Any = None,
    min_train: Any = 1,
    by: str = "auto",
    random_state: Any = 0,
) -> Split:
    if test_size is not None and n_test is not None:
        raise DataError(
            f"pass test_size or n_test, not both (got test_size={test_size!r}, n_test={n_test!r})"
        )
    if test_size is None and n_test is None:
        n_test = 1
    if n_test is not None and (not _is_int(n_test) or int(n_test) < 1):
        raise DataError(
            f"n_test={n_test!r}: expected a positive integer (ratings held out per user)"
        )
    frac = None if test_size is None else _check_fraction(test_size)
    if not _is_int(min_train) or int(min_train) < 0:
        raise DataError(
            f"min_train={min_train!r}: expected a non-negative integer (ratings kept in train per user)"
        )
    min_train = int(min_train)
    if by not in ("auto", "time", "random"):
        raise DataError(
            f"by={by!r}: expected 'auto' (time when timestamps exist), 'time' or 'random'"
        )
    if by == "auto":
        by = "time" if ds.timestamp is not None else "random"
    if by == "time" and ds.timestamp is None:
        raise DataError(f"by='time' needs timestamps, but {ds.name!r} has none; pass by='random'")
    random_state = _check_random_state(random_state)

    n = len(ds)
    user = ds.user_index
    counts = np.bincount(user, minlength=ds.n_users)
    wanted = (
        np.full(ds.n_users, int(n_test), dtype=np.int64)
        if frac is None
        else np.floor(frac * counts + 0.5).astype(np.int64)
    )
    held = np.clip(np.minimum(wanted, counts - min_train), 0, None)
    # Order rows by user, then oldest..newest (time) or a random key; the last `held[u]`
    # rows of each user's run go to test. Ties in time keep input order (a later row
    # counts as newer).
    rows = np.arange(n)
    if by == "time":
        order = np.lexsort((rows, ds.timestamp, user))
    else:
        key = np.random.default_rng(random_state).permutation(n)
        order = np.lexsort((key, user))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sorted_user = user[order]
    pos_in_user = rows - starts[sorted_user]
    from_end = counts[sorted_user] - 1 - pos_in_user
    mask = np.zeros(n, dtype=np.bool_)
    mask[order] = from_end < held[sorted_user]
    size = f"test_size={test_size!r}" if frac is not None else f"n_test={int(n_test)}"
    extra = "" if by == "time" else f", random_state={random_state!r}"
    return _make(ds, mask, f"user({size}, min_train={min_train}, by={by}{extra})")


def _temporal(ds: Interactions, *, cutoff: Any = None, test_size: Any = None) -> Split:
    if ds.timestamp is None:
        raise DataError(
            f"a temporal split needs timestamps, but {ds.name!r} has none; use method='random' or 'user'"
        )
    if (cutoff is None) == (test_size is None):
        raise DataError(
            "a temporal split takes exactly one of cutoff (Unix seconds or a date) and test_size "
            f"(the newest fraction); got cutoff={cutoff!r}, test_size={test_size!r}"
        )
    ts = ds.timestamp
    if cutoff is not None:
        seconds = _cutoff_seconds(cutoff)
        mask = ts >= seconds
        n_test = int(mask.sum())
        if n_test == 0 or n_test == len(ds):
            side = "test" if n_test == 0 else "training"
            raise DataError(
                f"cutoff={cutoff!r} ({_iso(seconds)}) leaves the {side} set empty; the ratings span "
                f"{_iso(int(ts.min()))} to {_iso(int(ts.max()))}"
            )
        return _make(ds, mask, f"temporal(cutoff={_iso(seconds)})")
    count = _test_count(test_size, len(ds))
    seconds = int(np.partition(ts, len(ds) - count)[len(ds) - count])
    mask = ts >= seconds
    if int(mask.sum()) == len(ds):
        raise DataError(
            f"test_size={test_size!r}: every rating shares the oldest timestamp {_iso(seconds)}, "
            "so no time cutoff leaves ratings in train"
        )
    return _make(ds, mask, f"temporal(test_size={test_size!r}, cutoff={_iso(seconds)})")


_SPLITS: dict[str, tuple[Callable[..., Split], tuple[str, ...]]] = {
    "random": (_random, ("test_size", "random_state")),
    "user": (_user, ("test_size", "n_test", "min_train", "by", "random_state")),
    "temporal": (_temporal, ("cutoff", "test_size")),
}


@renamed(seed="random_state")
def split(ds: Interactions, method: str = "random", **options: Any) -> Split:
    """Split ratings into train and test sets that share the dataset's vocabularies.

    Methods and their options:

    - ``"random"``: ``test_size`` (fraction in (0, 1) or a count of ratings;
      default 0.2), ``random_state`` (default 0). A uniformly random set of ratings.
    - ``"user"``: per-user holdout. ``n_test`` (ratings held out per user, default 1)
      or ``test_size`` (fraction of each user's ratings, rounded half up),
      ``min_train`` (default 1), ``by`` (``"auto"``: ``"time"`` when the data has
      timestamps, else ``"random"``), ``random_state`` (for ``by="random"``). With
      ``by="time"`` each user's newest ratings are held out (ties in time: the later
      row counts as newer). A user with ``c`` ratings gives
      ``min(wanted, c - min_train)`` ratings to test, never fewer than 0: users with
      ``min_train`` ratings or fewer stay entirely in train. On implicit data the
      rows are positives: ``test_size=0.2`` holds out 20 % of each user's positives
      (at random with ``by="random"``, the latest with ``by="time"``), and users
      with too few positives to hold one out stay wholly in train.
    - ``"temporal"``: a global cutoff, exactly one of ``cutoff`` (Unix seconds, a
      date string such as ``"2015-01-01"``, a date or datetime; naive values are
      UTC) and ``test_size`` (the newest fraction, or a count). Ratings at or after
      the cutoff go to test, so every training rating is older than every test
      rating. With ``test_size`` the cutoff is the timestamp of the newest
      ``test_size`` ratings; ties at the cutoff all go to test, so the test set can
      be slightly larger than asked.

    Args:
        ds: The ratings to split.
        method: ``"random"``, ``"user"`` or ``"temporal"``.
        **options: The method's options, listed above. ``seed`` is the deprecated
            name of ``random_state`` (it warns; removed in the next release).

    Returns:
        A :class:`Split` with ``train`` and ``test`` (both share ``ds``'s
        vocabularies and metadata) and a ``name`` such as
        ``"random(test_size=0.2, random_state=0)"``.

    Raises:
        DataError: For an unknown method or option, an option value out of range,
            a temporal split of data without timestamps, or options that leave the
            train or test set empty.
        TypeError: If ``ds`` is not an :class:`Interactions`.

    Example:
        >>> ds = Interactions.from_ids([1, 1, 2, 2], [1, 2, 1, 2], [4, 3, 5, 2])
        >>> train, test = split(ds, "random", test_size=1, random_state=0)
        >>> len(train), len(test), train.users is ds.users
        (3, 1, True)
    """
    ds = _check_dataset(ds)
    if method not in _SPLITS:
        hint = " (for folds use folds())" if method in FOLD_METHODS else ""
        raise DataError(
            f"unknown split method {method!r}{hint}; expected one of {', '.join(map(repr, SPLIT_METHODS))}"
        )
    func, allowed = _SPLITS[method]
    _check_options(method, options, allowed)
    return func(ds, **options)


def _kfold(ds: Interactions, *, k: Any = 5, random_state: Any = 0) -> list[Split]:
    n = len(ds)
    if not _is_int(k) or not 2 <= int(k) <= n:
        raise DataError(
            f"k={k!r}: expected an integer number of folds in 2..{n} (the number of ratings)"
        )
    k = int(k)
    random_state = _check_random_state(random_state)
    perm = np.random.default_rng(random_state).permutation(n)
    out = []
    for i, part in enumerate(np.array_split(perm, k)):
        mask = np.zeros(n, dtype=np.bool_)
        mask[part] = True
        out.append(_make(ds, mask, f"fold {i + 1}/{k}"))
    return out


def _movielens(ds: Interactions, which: str, method: str, *, path: Any = None) -> list[Split]:
    if path is None:
        raise DataError(
            f"folds method {method!r} needs path=, the ML-100K folder that holds u1.base..u5.test, ua.*, ub.*"
        )
    from embedlab.data._movielens import movielens_folds

    return list(movielens_folds(ds, path, which))


@renamed(seed="random_state")
def folds(ds: Interactions, method: str = "kfold", **options: Any) -> list[Split]:
    """Cross-validation folds: each a :class:`Split` sharing the dataset's vocabularies.

    Methods and their options:

    - ``"kfold"``: ``k`` (default 5), ``random_state`` (default 0). The ratings are shuffled
      and cut into ``k`` nearly equal parts; fold ``i`` tests on part ``i`` and
      trains on the rest, so every rating is in exactly one test set. Names are
      ``"fold 1/5"``...
    - ``"ml-100k-u"``, ``"ml-100k-a"``, ``"ml-100k-b"``: the predefined MovieLens
      100K folds (u1..u5, ua, ub) read from ``path``, the ML-100K folder; ``ds``
      must be ML-100K loaded with its own IDs.

    Args:
        ds: The ratings.
        method: ``"kfold"``, ``"ml-100k-u"``, ``"ml-100k-a"`` or ``"ml-100k-b"``.
        **options: The method's options, listed above. ``seed`` is the deprecated
            name of ``random_state`` (it warns; removed in the next release).

    Returns:
        The folds, in order.

    Raises:
        DataError: For an unknown method or option, ``k`` out of range, a missing
            ``path``, or fold files that do not match ``ds``.
        TypeError: If ``ds`` is not an :class:`Interactions`.

    Example:
        >>> ds = Interactions.from_ids([1, 1, 2, 2], [1, 2, 1, 2], [4, 3, 5, 2])
        >>> [len(test) for _, test in folds(ds, "kfold", k=2, random_state=0)]
        [2, 2]
    """
    ds = _check_dataset(ds)
    if method == "kfold":
        _check_options(method, options, ("k", "random_state"))
        return _kfold(ds, **options)
    if method in ("ml-100k-u", "ml-100k-a", "ml-100k-b"):
        _check_options(method, options, ("path",))
        return _movielens(ds, method.rsplit("-", 1)[1], method, **options)
    hint = " (for a single split use split())" if method in SPLIT_METHODS else ""
    raise DataError(
        f"unknown folds method {method!r}{hint}; expected one of {', '.join(map(repr, FOLD_METHODS))}"
    )
