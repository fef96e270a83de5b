"""embedlab: learn, explore and serve embeddings of categorical variables."""

__version__ = "0.1.0"

from embedlab import datasets, exceptions
from embedlab.data import (
    DatasetSummary,
    Interactions,
    Split,
    Vocabulary,
    load_movielens,
    load_ratings,
    synthetic_ratings,
)
from embedlab.embeddings import KeyedEmbeddings
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
from embedlab.models import MatrixFactorization, NeuralEmbeddingModel, load

__all__ = [
    "DataError",
    "DataWarning",
    "DatasetNotFoundError",
    "DatasetSummary",
    "DownloadError",
    "EmbedlabError",
    "Interactions",
    "KeyedEmbeddings",
    "MatrixFactorization",
    "NeuralEmbeddingModel",
    "NotFittedError",
    "Split",
    "TrainingDivergedError",
    "UnknownIDError",
    "Vocabulary",
    "__version__",
    "datasets",
    "exceptions",
    "load",
    "load_movielens",
    "load_ratings",
    "synthetic_ratings",
]
