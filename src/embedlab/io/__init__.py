"""Persistence of trained models: the model bundle directory (safetensors, JSON, Parquet).

See :mod:`embedlab.io._bundle` for the layout. Nothing here imports torch; use
:meth:`Bundle.torch_state_dict` to get torch tensors. A bundle is untrusted input:
:func:`load_bundle` checks what every bundle must satisfy and
:func:`check_model_bundle` what its model class requires (config against the settings,
tensors against the vocabularies), before any module is built. :func:`load_lookup`
reads a bundle for lookups (neighbours, a training user's recommendations, exports)
with NumPy only, as the command line's lookup commands do.

The embedding exports (gensim, word2vec, TensorBoard Projector, Parquet, ``.npz``) live
in :mod:`embedlab.embeddings` and are re-exported here.
"""

from embedlab.embeddings import (
    load_word2vec_format,
    read_embeddings_npz,
    read_embeddings_parquet,
    save_word2vec_format,
    to_gensim,
    write_embeddings_npz,
    write_embeddings_parquet,
    write_projector,
)
from embedlab.io._bundle import BUNDLE_FORMAT, Bundle, bundle_info, load_bundle, save_bundle
from embedlab.io._lookup import LookupModel, load_lookup
from embedlab.io._schema import LAYOUT_METHODS, LAYOUT_TENSOR, check_model_bundle

__all__ = [
    "BUNDLE_FORMAT",
    "LAYOUT_METHODS",
    "LAYOUT_TENSOR",
    "Bundle",
    "LookupModel",
    "bundle_info",
    "check_model_bundle",
    "load_bundle",
    "load_lookup",
    "load_word2vec_format",
    "read_embeddings_npz",
    "read_embeddings_parquet",
    "save_bundle",
    "save_word2vec_format",
    "to_gensim",
    "write_embeddings_npz",
    "write_embeddings_parquet",
    "write_projector",
]
