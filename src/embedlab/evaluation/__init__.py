"""Evaluation: rating, ranking and beyond-accuracy metrics, and comparison protocols.

Importing this package does not import torch: the protocols use models through their
``fit`` and ``evaluate`` methods only, and the experiments import the estimators of
:mod:`embedlab.models` inside the functions that fit them.

Notation of the ranking and beyond-accuracy metrics: ``U`` is the set of *evaluated*
users, ``L_u`` the first ``k`` entries of user ``u``'s recommendation list,
``rel_u(j)`` is 1 when the item at position ``j`` (0-based) of ``L_u`` is relevant,
``R_u`` the user's relevant test items: those with a test rating ``>= threshold``.

Their inputs:

- ``recs``: either a 2-D array (one row per user, one column per rank, best first) of
  item keys padded with ``pad`` (default ``-1``; ``None``/NaN also count as padding in
  object or float arrays), with ``users`` naming the user of each row (default: row
  ``i`` is user ``i``, for index-keyed data); or a DataFrame with columns ``user``,
  ``item`` and optionally ``rank`` (1 = best; without it, the row order within each
  user). A padding entry is a miss at its rank: put padding at the end.
- ``test``: a DataFrame with columns ``user``, ``item``, ``rating``, or an
  :class:`~embedlab.data.Interactions` (its raw IDs by default; ``keys="index"``
  uses its user and item indices instead).

Keys are matched by equality: recommendations and test data must use the same key
space (both raw IDs or both indices), never a mix.

Implicit data (``feedback="implicit"``): the test "ratings" are weights, and every
held-out interaction is relevant. :func:`cross_validate` and :func:`compare` handle
that themselves (see :mod:`embedlab.evaluation._protocols`); calling the metric
functions directly, pass ``threshold`` at or below the smallest weight (e.g. the
default weight 1.0 of a plain interaction: ``threshold=1``).
"""

from embedlab.evaluation._beyond import (
    catalog_coverage,
    novelty,
    obscure_share,
    personalization,
    popularity_percentile,
    recommended_popularity,
)
from embedlab.evaluation._experiments import (
    BIAS_VARIANTS,
    bias_experiment,
    curve_summary,
    l2_sweep,
    size_sweep,
)
from embedlab.evaluation._obscurity import (
    OBSCURITY_MODELS,
    ObscurityResult,
    obscurity_experiment,
)
from embedlab.evaluation._protocols import (
    EXPLICIT_METRICS,
    IMPLICIT_METRICS,
    LIST_METRICS,
    PROTOCOLS,
    RANKING_METRICS,
    Fold,
    compare,
    cross_validate,
    make_folds,
    summarize,
)
from embedlab.evaluation._ranking import (
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)
from embedlab.evaluation._rating import mae, rmse

__all__ = [
    "BIAS_VARIANTS",
    "EXPLICIT_METRICS",
    "IMPLICIT_METRICS",
    "LIST_METRICS",
    "OBSCURITY_MODELS",
    "PROTOCOLS",
    "RANKING_METRICS",
    "Fold",
    "ObscurityResult",
    "bias_experiment",
    "catalog_coverage",
    "compare",
    "cross_validate",
    "curve_summary",
    "hit_rate_at_k",
    "l2_sweep",
    "mae",
    "make_folds",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "obscure_share",
    "obscurity_experiment",
    "personalization",
    "popularity_percentile",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "recommended_popularity",
    "rmse",
    "size_sweep",
    "summarize",
]
