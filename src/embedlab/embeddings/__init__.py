"""Keyed embeddings: vectors addressed by raw IDs, with labels. NumPy only (no torch).

Every trained model hands these out (``model.item_embeddings()``), and they work on
any array with keys, whatever trained it.

* :class:`KeyedEmbeddings` (``_keyed``): keys, vectors, cached norms, cosine similarity,
  neighbours, analogies.
* Label search (``_search``): :func:`normalize_label`, behind ``find`` and ``resolve``.
* Exports (``_export``): gensim, word2vec text and binary, TensorBoard Projector,
  Parquet and ``.npz``, as methods of :class:`KeyedEmbeddings` and as functions
  (also re-exported by :mod:`embedlab.io`).
* Opening vectors from anywhere (``_open``): :func:`open_vectors` reads any of those
  formats, whoever wrote them, and joins a metadata table on the keys.

Importing this package imports neither torch, gensim nor faiss, nor any higher layer
of embedlab (models, io): gensim is imported by :func:`to_gensim` only, faiss when a
FAISS index is built.
"""

from embedlab.embeddings._export import (
    load_word2vec_format,
    read_embeddings_npz,
    read_embeddings_parquet,
    save_word2vec_format,
    to_gensim,
    write_embeddings_npz,
    write_embeddings_parquet,
    write_projector,
)
from embedlab.embeddings._keyed import KeyedEmbeddings
from embedlab.embeddings._open import open_vectors
from embedlab.embeddings._search import COUNT_COLUMNS, count_column, normalize_label

__all__ = [
    "COUNT_COLUMNS",
    "KeyedEmbeddings",
    "count_column",
    "load_word2vec_format",
    "normalize_label",
    "open_vectors",
    "read_embeddings_npz",
    "read_embeddings_parquet",
    "save_word2vec_format",
    "to_gensim",
    "write_embeddings_npz",
    "write_embeddings_parquet",
    "write_projector",
]
