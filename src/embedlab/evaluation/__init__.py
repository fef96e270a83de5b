"""Evaluation: rating, ranking and beyond-accuracy metrics, and comparison protocols.

Nothing here imports torch: models are used through their ``fit`` and ``evaluate``
methods only.
"""

from embedlab.evaluation._experiments import (
    BIAS_VARIANTS,
    bias_experiment,
    curve_summary,
    l2_sweep,
    size_sweep,
)
from embedlab.evaluation._metrics import (
    catalog_coverage,
    hit_rate_at_k,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    obscure_share,
    personalization,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    recommended_popularity,
    rmse,
)
from embedlab.evaluation._obscurity import (
    OBSCURITY_MODELS,
    ObscurityResult,
    obscurity_experiment,
)
from embedlab.evaluation._protocols import (
    PROTOCOLS,
    Fold,
    compare,
    cross_validate,
    make_folds,
    summarize,
)

__all__ = [
    "BIAS_VARIANTS",
    "OBSCURITY_MODELS",
    "PROTOCOLS",
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
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "recommended_popularity",
    "rmse",
    "size_sweep",
    "summarize",
]
