"""The data layer: vocabularies, interactions, loaders, downloads, splits, synthetic data.

Nothing here imports torch or any higher layer.
"""

from embedlab.data._columns import resolve_columns
from embedlab.data._download import (
    MARKER,
    MovieLensRelease,
    fetch_movielens,
    get_release,
    movielens_releases,
)
from embedlab.data._export import write_movielens_csv
from embedlab.data._ids import parse_id
from embedlab.data._implicit import (
    IMPLICIT_DUPLICATES,
    ImplicitDuplicatePolicy,
    load_interactions,
)
from embedlab.data._interactions import DatasetSummary, Interactions, align_metadata
from embedlab.data._load import load
from embedlab.data._movielens import detect_movielens, load_movielens, movielens_folds
from embedlab.data._sidetable import read_side_table, read_table
from embedlab.data._sniff import sniff_table
from embedlab.data._split import Split, folds, split
from embedlab.data._synthetic import SHAPES, SyntheticTruth, synthetic_ratings
from embedlab.data._tables import load_ratings
from embedlab.data._validate import DuplicatePolicy
from embedlab.data._vocab import Vocabulary

__all__ = [
    "IMPLICIT_DUPLICATES",
    "MARKER",
    "SHAPES",
    "DatasetSummary",
    "DuplicatePolicy",
    "ImplicitDuplicatePolicy",
    "Interactions",
    "MovieLensRelease",
    "Split",
    "SyntheticTruth",
    "Vocabulary",
    "align_metadata",
    "detect_movielens",
    "fetch_movielens",
    "folds",
    "get_release",
    "load",
    "load_interactions",
    "load_movielens",
    "load_ratings",
    "movielens_folds",
    "movielens_releases",
    "parse_id",
    "read_side_table",
    "read_table",
    "resolve_columns",
    "sniff_table",
    "split",
    "synthetic_ratings",
    "write_movielens_csv",
]
