"""obscurity_experiment on MovieLens with the product defaults (realdata).

Targets of issue 5: the unregularized MF's top 10 is dominated by items with few
ratings, and the default MF's share of items with < 10 training ratings is <= 5 %.
Measured (random_state=0, 2 cores; all 100k ML-100K ratings as train; ml-latest-small
random 90/10 seed 0; "unreg." = no L2 and no bias damping):

=================  ==========  =======================  ========  ==========
data               model       median #ratings (top10)  obscure   coverage
=================  ==========  =======================  ========  ==========
ML-100K            unreg.      165                      5.6 %     28.8 %
ML-100K            default     ~200                     0.3 %     ~19 %
ML-100K            unreg.+100  200                      0 %       17.4 %
ml-latest-small    unreg.      28                       15.0 %    5.0 %
ml-latest-small    default     ~100                     3.3 %     ~3 %
ml-latest-small    unreg.+100  149                      0 %       1.0 %
=================  ==========  =======================  ========  ==========

The default's 5 % target holds (bias damping, ``bias_damping=7``; with per-occurrence
L2 alone it was 15 % and 62 %). The first target does not: without L2 the compiled
SGD engine barely moves the biases of items rated once or twice (a few small steps per
epoch), so its lists are not dominated by them here; that test is a strict xfail
carrying the numbers.
"""

from __future__ import annotations

import pytest

from embedlab.data import load_movielens
from embedlab.evaluation import obscurity_experiment

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml100k(ml100k_dir):
    return obscurity_experiment(load_movielens(ml100k_dir), sample_users=2)


@pytest.fixture(scope="module")
def mlsmall(mlsmall_dir):
    train, test = load_movielens(mlsmall_dir).split("random", test_size=0.1, seed=0)
    return obscurity_experiment(train, test, sample_users=2)


@pytest.fixture(params=["ml100k", "mlsmall"])
def result(request):
    return request.getfixturevalue(request.param)


def test_filter_keeps_only_items_with_100_ratings(result) -> None:
    s = result.summary.set_index("model")
    assert s.loc["unregularized+filter", "obscure_share"] == 0.0
    assert s.loc["unregularized+filter", "median_n_ratings"] >= 100
    filtered = result.samples[result.samples["model"] == "unregularized+filter"]
    assert len(filtered) and (filtered["n_ratings"] >= 100).all()
    assert (s["n_users"] > 600).all() and (s["coverage"] > 0).all()


def test_mlsmall_rmse_is_reported(mlsmall) -> None:
    s = mlsmall.summary.set_index("model")
    assert s.loc["default", "rmse"] == pytest.approx(0.838, abs=0.02)
    assert s.loc["unregularized", "rmse"] < 0.95


@pytest.mark.xfail(
    strict=True,
    reason="measured: unregularized MF top-10 obscure share 5.6 % (ML-100K) and 15.0 % "
    "(ml-latest-small), medians 165 and 28 ratings: not dominated by rare items (the torch "
    "engine without L2 at 32 dims: 0.7 %, median 64 on ML-100K)",
)
def test_unregularized_top10_is_dominated_by_rare_items(result) -> None:
    s = result.summary.set_index("model")
    assert s.loc["unregularized", "median_n_ratings"] < 10 or (
        s.loc["unregularized", "obscure_share"] > 0.5
    )


def test_default_model_rarely_recommends_obscure_items(result) -> None:
    assert result.summary.set_index("model").loc["default", "obscure_share"] <= 0.05
