"""Settings: one frozen object per model holding every hyperparameter, its default,
its check and its doc, and the resolvers that make them concrete for an engine and data.

The estimators' constructors, the ``embedlab train`` options, the docs' option tables and
the bundle's record of what ran are all generated from these classes. Importing this
package imports neither torch nor numba.
"""

from embedlab.settings._encoder import EncoderSettings
from embedlab.settings._fields import (
    Bool,
    Check,
    Choice,
    Dims,
    Flag,
    Int,
    Ints,
    Pair,
    Real,
    Settings,
    deprecated,
    renamed,
    setting,
)
from embedlab.settings._implicit import (
    IMPLICIT_ENGINE_DEFAULTS,
    IMPLICIT_ENGINES,
    ImplicitMFSettings,
    implicit_engine,
    resolve_implicit,
)
from embedlab.settings._models import (
    ENGINE_DEFAULTS,
    HOLDOUT_PROBE_ONLY,
    MF_ENGINES,
    NEURAL_ENGINES,
    PRETRAIN_MF,
    RATINGS_PER_THREAD,
    MFSettings,
    NeuralSettings,
    mf_engine,
    neural_engine,
    resolve_mf,
    resolve_neural,
    used_fields,
)

__all__ = [
    "ENGINE_DEFAULTS",
    "HOLDOUT_PROBE_ONLY",
    "IMPLICIT_ENGINES",
    "IMPLICIT_ENGINE_DEFAULTS",
    "MF_ENGINES",
    "NEURAL_ENGINES",
    "PRETRAIN_MF",
    "RATINGS_PER_THREAD",
    "Bool",
    "Check",
    "Choice",
    "Dims",
    "EncoderSettings",
    "Flag",
    "ImplicitMFSettings",
    "Int",
    "Ints",
    "MFSettings",
    "NeuralSettings",
    "Pair",
    "Real",
    "Settings",
    "deprecated",
    "implicit_engine",
    "mf_engine",
    "neural_engine",
    "renamed",
    "resolve_implicit",
    "resolve_mf",
    "resolve_neural",
    "setting",
    "used_fields",
]
