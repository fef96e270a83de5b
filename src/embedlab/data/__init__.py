"""The data layer: vocabularies, interactions, loaders, downloads, splits, synthetic data.

Nothing here imports torch or any higher layer.
"""

from embedlab.data._download import MovieLensRelease, fetch_movielens, movielens_releases
from embedlab.data._interactions import DatasetSummary, Interactions, align_metadata
from embedlab.data._validate import DuplicatePolicy
from embedlab.data._vocab import Vocabulary

__all__ = [
    "DatasetSummary",
    "DuplicatePolicy",
    "Interactions",
    "MovieLensRelease",
    "Vocabulary",
    "align_metadata",
    "fetch_movielens",
    "movielens_releases",
]
