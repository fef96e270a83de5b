"""embedlab: learn, explore and serve embeddings of categorical variables.

Importing ``embedlab`` (or ``embedlab.embeddings``, ``embedlab.data``,
``embedlab.evaluation``) does not import torch: the estimators (``MatrixFactorization``,
``NeuralEmbeddingModel``, ``load``) and ``evaluation`` with its ``cross_validate``,
``compare`` and ``summarize`` are loaded on first use (module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# First: importing it sets OpenMP's wait default, read once when torch or numba load
# the OpenMP runtime (embedlab._threads.configure_runtime).
from embedlab import _threads  # noqa: F401  # isort: skip

from embedlab import datasets, exceptions
from embedlab._version import __version__
from embedlab.data import (
    DatasetSummary,
    Interactions,
    Split,
    Vocabulary,
    load_interactions,
    load_movielens,
    load_ratings,
    synthetic_ratings,
)
from embedlab.embeddings import KeyedEmbeddings, open_vectors
from embedlab.exceptions import (
    BiasesOnlyWarning,
    DataError,
    DatasetNotFoundError,
    DataWarning,
    DownloadError,
    EmbedlabError,
    NotFittedError,
    TrainingDivergedError,
    UnknownIDError,
)

if TYPE_CHECKING:  # pragma: no cover
    from embedlab import evaluation, viz
    from embedlab.evaluation import compare, cross_validate, summarize
    from embedlab.features import EmbeddingEncoder
    from embedlab.models import MatrixFactorization, NeuralEmbeddingModel, load

#: Public names loaded on first access: name -> (module, attribute or None for the module).
_LAZY: dict[str, tuple[str, str | None]] = {
    "MatrixFactorization": ("embedlab.models", "MatrixFactorization"),
    "ImplicitMatrixFactorization": ("embedlab.models", "ImplicitMatrixFactorization"),
    "NeuralEmbeddingModel": ("embedlab.models", "NeuralEmbeddingModel"),
    "load": ("embedlab.models", "load"),
    "evaluation": ("embedlab.evaluation", None),
    "cross_validate": ("embedlab.evaluation", "cross_validate"),
    "compare": ("embedlab.evaluation", "compare"),
    "summarize": ("embedlab.evaluation", "summarize"),
    "viz": ("embedlab.viz", None),
    "EmbeddingEncoder": ("embedlab.features", "EmbeddingEncoder"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'embedlab' has no attribute {name!r}")
    module = importlib.import_module(target[0])
    value = module if target[1] is None else getattr(module, target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BiasesOnlyWarning",
    "DataError",
    "DataWarning",
    "DatasetNotFoundError",
    "DatasetSummary",
    "DownloadError",
    "EmbeddingEncoder",
    "EmbedlabError",
    "ImplicitMatrixFactorization",
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
    "compare",
    "cross_validate",
    "datasets",
    "evaluation",
    "exceptions",
    "load",
    "load_interactions",
    "load_movielens",
    "load_ratings",
    "open_vectors",
    "summarize",
    "synthetic_ratings",
    "viz",
]
