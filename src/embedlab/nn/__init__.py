"""Torch modules that know only integer indices: matrix factorization and the neural model.

Parameter names are the contract every engine and the model bundle share
(``user_embedding.weight``, ``item_embedding.weight``, ``user_bias.weight``,
``item_bias.weight``, ``global_bias``, and for the neural model ``mlp.<k>.*`` and
``output.*``; for the feature encoder's :class:`TabularModule`
``embeddings.<j>.weight``, ``biases.<j>.weight`` and ``mlp.<k>.*``).
"""

from embedlab.nn._init import INITIALIZERS, glorot_uniform_, init_embedding_
from embedlab.nn._mf import MFModule
from embedlab.nn._neural import GeneratorDropout, NeuralModule
from embedlab.nn._tabular import TabularModule

__all__ = [
    "INITIALIZERS",
    "GeneratorDropout",
    "MFModule",
    "NeuralModule",
    "TabularModule",
    "glorot_uniform_",
    "init_embedding_",
]
