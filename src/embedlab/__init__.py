"""embedlab: learn, explore and serve embeddings of categorical variables."""

__version__ = "0.1.0"

from embedlab import datasets, exceptions
from embedlab.data import DatasetSummary, Interactions, Vocabulary, load_movielens, load_ratings
from embedlab.exceptions import (
    DataError,
    DatasetNotFoundError,
    DataWarning,
    DownloadError,
    EmbedlabError,
    NotFittedError,
    TrainingDivergedError,
    UnknownIDError,
)

__all__ = [
    "DataError",
    "DataWarning",
    "DatasetNotFoundError",
    "DatasetSummary",
    "DownloadError",
    "EmbedlabError",
    "Interactions",
    "NotFittedError",
    "TrainingDivergedError",
    "UnknownIDError",
    "Vocabulary",
    "__version__",
    "datasets",
    "exceptions",
    "load_movielens",
    "load_ratings",
]
