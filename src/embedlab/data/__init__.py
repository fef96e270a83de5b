"""The data layer: vocabularies, interactions, loaders, downloads, splits, synthetic data.

Nothing here imports torch or any higher layer.
"""

from embedlab.data._interactions import DatasetSummary, Interactions, align_metadata
from embedlab.data._validate import DuplicatePolicy
from embedlab.data._vocab import Vocabulary

__all__ = [
    "DatasetSummary",
    "DuplicatePolicy",
    "Interactions",
    "Vocabulary",
    "align_metadata",
]
