"""Train/test splits that share vocabularies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embedlab.data._interactions import Interactions

__all__ = ["Split"]


@dataclass(frozen=True)
class Split:
    """A train/test pair over the same vocabularies; unpacks as ``train, test = split``.

    Attributes:
        train: Training ratings.
        test: Test ratings.
        name: How the split was made (e.g. ``"random(test_size=0.1, seed=0)"``, ``"u1"``).
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
        test_users = np.unique(self.test.user_index)
        return int((~seen[test_users]).sum())

    @property
    def unseen_items(self) -> int:
        """Number of distinct test items with no rating in train (cold-start items)."""
        seen = np.bincount(self.train.item_index, minlength=self.train.n_items) > 0
        test_items = np.unique(self.test.item_index)
        return int((~seen[test_items]).sum())

    def describe(self) -> dict[str, Any]:
        """Sizes and cold-start counts, JSON-ready."""
        return {
            "name": self.name,
            "train_ratings": len(self.train),
            "test_ratings": len(self.test),
            "test_users": int(np.unique(self.test.user_index).size),
            "test_items": int(np.unique(self.test.item_index).size),
            "unseen_users": self.unseen_users,
            "unseen_items": self.unseen_items,
        }

    def __repr__(self) -> str:
        return (
            f"Split({self.name!r}: train {len(self.train):,}, test {len(self.test):,}, "
            f"unseen users {self.unseen_users}, unseen items {self.unseen_items})"
        )
