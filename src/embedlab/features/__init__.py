"""Embeddings as features: entity embeddings of categorical columns for scikit-learn.

:class:`EmbeddingEncoder` learns one embedding table per categorical column with a
small torch network that predicts ``y`` (Guo & Berkhahn, "Entity Embeddings of
Categorical Variables", 2016; the fast.ai tabular model), then hands the learned
vectors out as dense features for any other model: a linear model, gradient
boosting, a ``Pipeline`` or a ``ColumnTransformer``.

:func:`join_embeddings` does the same for a trained recommendation model: it joins
its user and item vectors onto a table of (user, item) rows.

Importing ``embedlab`` does not import this module (nor torch); ``embedlab.EmbeddingEncoder``
loads it on first use.
"""

from embedlab.features._encoder import EmbeddingEncoder
from embedlab.features._join import join_embeddings
from embedlab.features._values import embedding_dim_rule

__all__ = ["EmbeddingEncoder", "embedding_dim_rule", "join_embeddings"]
