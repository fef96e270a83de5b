"""Persistence of trained models: the model bundle directory (safetensors, JSON, Parquet).

See :mod:`embedlab.io._bundle` for the layout. Nothing here imports torch; use
:meth:`Bundle.torch_state_dict` to get torch tensors.
"""

from embedlab.io._bundle import BUNDLE_FORMAT, Bundle, bundle_info, load_bundle, save_bundle

__all__ = ["BUNDLE_FORMAT", "Bundle", "bundle_info", "load_bundle", "save_bundle"]

from embedlab.io._export import (
    load_word2vec_format,
    read_embeddings_npz,
    read_embeddings_parquet,
    save_word2vec_format,
    to_gensim,
    write_embeddings_npz,
    write_embeddings_parquet,
    write_projector,
)

__all__ += [
    "load_word2vec_format",
    "read_embeddings_npz",
    "read_embeddings_parquet",
    "save_word2vec_format",
    "to_gensim",
    "write_embeddings_npz",
    "write_embeddings_parquet",
    "write_projector",
]
