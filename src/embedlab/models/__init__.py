"""Estimators: the objects users hold (config + vocabularies + module + history)."""

from embedlab.models._base import EmbeddingModel, FoldedUser
from embedlab.models._implicit import ImplicitMatrixFactorization
from embedlab.models._mf import MatrixFactorization
from embedlab.models._neural import NeuralEmbeddingModel
from embedlab.models._spark import fit_spark_als
from embedlab.settings import ENGINE_DEFAULTS

#: Model classes by the name stored in bundles.
MODEL_CLASSES: dict[str, type[EmbeddingModel]] = {
    "MatrixFactorization": MatrixFactorization,
    "NeuralEmbeddingModel": NeuralEmbeddingModel,
    "ImplicitMatrixFactorization": ImplicitMatrixFactorization,
}


def load(path: str) -> EmbeddingModel:
    """Load any model saved with ``model.save(path)`` (no pickle).

    Raises:
        BundleError: For a missing, truncated or edited bundle.
    """
    return EmbeddingModel.load(path)


__all__ = [
    "ENGINE_DEFAULTS",
    "MODEL_CLASSES",
    "EmbeddingModel",
    "FoldedUser",
    "ImplicitMatrixFactorization",
    "MatrixFactorization",
    "NeuralEmbeddingModel",
    "fit_spark_als",
    "load",
]
