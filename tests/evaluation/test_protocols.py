"""Protocols: folds from the data layer, identical for every model; tidy frames; summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.evaluation import compare, cross_validate, make_folds, rmse, summarize
from movielens_files import tiny_ml100k_files, write_files


@pytest.fixture(scope="module")
def data() -> el.Interactions:
    ds, _ = el.synthetic_ratings(120, 80, 3_000, noise_std=0.5, random_state=3)
    return ds


def quick_mf() -> el.MatrixFactorization:
    return el.MatrixFactorization(embedding_dim=4, epochs=3, random_state=0, n_threads=1)


class MeanModel:
    """The smallest duck-typed estimator: predicts the training mean."""

    def fit(self, train: el.Interactions, **kwargs: object) -> MeanModel:
        self.mean_ = float(train.rating.mean())
        self.kwargs_ = kwargs
        return self

    def evaluate(self, test: el.Interactions, *, unknown: str = "error") -> dict[str, float]:
        pred = np.full(len(test), self.mean_)
        return {"rmse": rmse(test.rating, pred), "mae": float(np.abs(test.rating - pred).mean())}


def test_folds_come_from_the_data_layer(data) -> None:
    folds = make_folds(data, "kfold", k=4, seeds=(7, 8))
    ref = data.folds("kfold", k=4, random_state=7)
    assert [(f.fold, f.seed) for f in folds] == [(1, 7), (2, 7), (3, 7), (4, 7)]
    for f, r in zip(folds, ref, strict=True):
        np.testing.assert_array_equal(f.split.test.rating, r.test.rating)
        np.testing.assert_array_equal(f.split.test.item_index, r.test.item_index)
    rep = make_folds(data, "repeated-kfold", k=3, seeds=(0, 1))
    assert [(f.fold, f.seed) for f in rep] == [(i, s) for s in (0, 1) for i in (1, 2, 3)]
    (hold,) = make_folds(data, "holdout", test_size=0.2, seeds=(5, 6))
    ref_train, ref_test = data.split("random", test_size=0.2, random_state=5)
    assert hold.seed == 5 and len(hold.split.test) == len(ref_test) == 600
    np.testing.assert_array_equal(hold.split.train.user_index, ref_train.user_index)
    assert [f.seed for f in make_folds(data, "repeated", seeds=(0, 1, 2))] == [0, 1, 2]
    # A function of its arguments only: built twice, identical.
    again = make_folds(data, "kfold", k=4, seeds=(7, 8))
    assert all(
        np.array_equal(a.split.test.user_index, b.split.test.user_index)
        for a, b in zip(folds, again, strict=True)
    )


def test_make_folds_errors(data) -> None:
    with pytest.raises(ValueError, match="protocol='loo'"):
        make_folds(data, "loo")
    with pytest.raises(ValueError, match="seeds=\\(\\)"):
        make_folds(data, "kfold", seeds=())
    with pytest.raises(ValueError, match="a seed repeats"):
        make_folds(data, "repeated", seeds=(1, 1))
    with pytest.raises(ValueError, match="needs the ML-100K folder"):
        make_folds(data, "ml-100k-u")
    with pytest.raises(ValueError, match="k=1"):  # the data layer's own message
        make_folds(data, "kfold", k=1)
    with pytest.raises(TypeError, match="expected an Interactions"):
        make_folds(pd.DataFrame(), "kfold")


def test_cross_validate_tidy_frame_with_a_real_model(data) -> None:
    frame = cross_validate(quick_mf, data, "kfold", k=3, fit_kwargs={"progress": False})
    assert list(frame.columns) == [
        "fold", "seed", "split", "rmse", "mae", "fit_seconds", "n_train", "n_test"
    ]  # fmt: skip
    assert frame["fold"].tolist() == [1, 2, 3] and frame["seed"].tolist() == [0, 0, 0]
    assert (
        frame["n_test"].sum() == len(data)
        and (frame["n_train"] + frame["n_test"] == len(data)).all()
    )
    assert ((frame["mae"] < frame["rmse"]) & (frame["rmse"] < 2) & (frame["fit_seconds"] > 0)).all()
    assert frame.attrs["protocol"] == {"protocol": "kfold", "n_folds": 3, "k": 3, "seeds": [0]}
    # The numbers are the model's own evaluate() on the fold.
    train, test = make_folds(data, "kfold", k=3)[1].split
    direct = quick_mf().fit(train, progress=False).evaluate(test)
    assert frame.loc[1, "rmse"] == pytest.approx(direct["rmse"], rel=1e-6)


def test_compare_uses_the_same_folds_for_every_model(data) -> None:
    seen: list[tuple[str, int]] = []

    def spy(model: str):
        def score(m, train, test) -> float:
            seen.append((model, hash(test.user_index.tobytes() + test.item_index.tobytes())))
            return float(len(test))

        return score

    models = {"mean": MeanModel, "mean2": MeanModel}
    frame = compare(models, data, "repeated", seeds=(0, 1), test_size=0.25, metrics=["rmse"])
    assert frame["model"].tolist() == ["mean", "mean", "mean2", "mean2"]
    assert frame["seed"].tolist() == [0, 1, 0, 1]
    a, b = frame[frame.model == "mean"], frame[frame.model == "mean2"]
    np.testing.assert_array_equal(a["rmse"].to_numpy(), b["rmse"].to_numpy())
    # Callables see identical test sets, model after model.
    for name in models:
        cross_validate(models[name], data, "repeated", seeds=(0, 1), metrics={"n": spy(name)})
    first, second = seen[:2], seen[2:]
    assert [h for _, h in first] == [h for _, h in second]
    assert first[0][1] != first[1][1]  # different seeds, different folds


def test_summarize_mean_and_std(data) -> None:
    frame = compare(
        {"mean": MeanModel, "mf": quick_mf},
        data,
        "kfold",
        k=2,
        metrics=("rmse", "mae"),
        fit_kwargs={"progress": False},
    )
    summary = summarize(frame)
    assert list(summary.columns) == ["model", "metric", "mean", "std", "n_folds", "text"]
    assert summary["metric"].tolist() == ["rmse", "mae", "fit_seconds"] * 2
    row = summary[(summary.model == "mean") & (summary.metric == "rmse")].iloc[0]
    values = frame.loc[frame.model == "mean", "rmse"]
    assert row["mean"] == pytest.approx(values.mean()) and row["std"] == pytest.approx(
        values.std(ddof=1)
    )
    assert row["text"] == f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"
    one = summarize(cross_validate(MeanModel, data, "holdout"), metrics=["rmse"])
    assert one["n_folds"].tolist() == [1] and np.isnan(one["std"].iloc[0])
    with pytest.raises(ValueError, match=r"metrics \['ndcg'\] are not columns"):
        summarize(frame, metrics=["ndcg"])


def test_fit_kwargs_reach_fit_and_bad_factories_or_metrics_raise(data) -> None:
    made: list[MeanModel] = []

    def factory() -> MeanModel:
        made.append(MeanModel())
        return made[-1]

    cross_validate(factory, data, "kfold", k=2, fit_kwargs={"progress": False})
    assert len(made) == 2 and made[0] is not made[1] and made[0].kwargs_ == {"progress": False}
    with pytest.raises(TypeError, match="zero-argument callable"):
        cross_validate(MeanModel(), data)
    with pytest.raises(TypeError, match="has no fit"):
        cross_validate(lambda: object(), data, k=2)
    with pytest.raises(ValueError, match=r"'ndcg' is not among what MeanModel\.evaluate returns"):
        cross_validate(MeanModel, data, k=2, metrics=["ndcg"])
    with pytest.raises(ValueError, match="non-empty dict"):
        compare({}, data)


def test_ml100k_u_folds_from_a_folder(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "ml-100k", tiny_ml100k_files())
    frame = cross_validate(MeanModel, folder, "ml-100k-u")
    assert frame["split"].tolist() == ["u1", "u2", "u3", "u4", "u5"]
    assert frame["seed"].isna().all() and (frame["n_test"] == 1).all()
    assert frame.attrs["protocol"] == {"protocol": "ml-100k-u", "n_folds": 5}
    ds = el.load_movielens(folder)
    same = cross_validate(MeanModel, ds, "ml-100k-u", path=folder)
    pd.testing.assert_frame_equal(
        frame.drop(columns="fit_seconds"), same.drop(columns="fit_seconds")
    )


RANKING = ("ndcg@10", "precision@10", "recall@10", "map@10", "mrr@10", "hit@10")


def test_ranking_metric_names_in_cross_validate(data) -> None:
    frame = cross_validate(
        lambda: el.MatrixFactorization(embedding_dim=4, epochs=3, random_state=0),
        data,
        "holdout",
        seeds=0,
        metrics=("rmse", "mae", *RANKING, "ndcg@5"),
        fit_kwargs={"progress": False},
    )
    assert list(frame.columns[3:12]) == ["rmse", "mae", *RANKING, "ndcg@5"]
    row = frame.iloc[0]
    assert all(0.0 <= row[m] <= 1.0 for m in RANKING)
    assert row["hit@10"] >= row["precision@10"] and row["ndcg@10"] >= 0


def test_ranking_metrics_match_ranking_metrics_on_known_users(data) -> None:
    """The protocol's numbers are ranking_metrics of recommend_batch for known test users."""
    fold = make_folds(data, "holdout", seeds=0)[0]
    train, test = fold.split
    model = el.MatrixFactorization(embedding_dim=4, epochs=3, random_state=0)
    frame = cross_validate(
        lambda: model,
        data,
        "holdout",
        seeds=0,
        metrics=("map@5", "hit_rate@5"),
        fit_kwargs={"progress": False},
        threshold=3.5,
    )
    tf = test.to_pandas()
    known = tf[tf["user"].isin(train.users.ids()[train.user_counts() > 0])]
    recs = model.recommend_batch(pd.unique(known["user"]), n=5)
    expect = el.evaluation.ranking_metrics(recs, known, k=5, threshold=3.5)
    assert frame["map@5"].iloc[0] == pytest.approx(expect["map@5"])
    assert frame["hit_rate@5"].iloc[0] == pytest.approx(expect["hit_rate@5"])


def test_ranking_metric_errors(data) -> None:
    def make():
        return el.MatrixFactorization(embedding_dim=2, epochs=1, random_state=0)

    with pytest.raises(ValueError, match="ranking metric"):
        cross_validate(make, data, "holdout", seeds=0, metrics=("ndcg@0",))
    with pytest.raises(ValueError, match="ranking metric"):
        cross_validate(make, data, "holdout", seeds=0, metrics=("auc@10",))
    with pytest.raises(ValueError, match="threshold"):
        cross_validate(make, data, "holdout", seeds=0, metrics=("ndcg@10",), threshold=np.nan)

    class NoRecs:
        def fit(self, train, **kw):
            return self

        def evaluate(self, test, **kw):
            return {"rmse": 1.0}

    with pytest.raises(TypeError, match="recommend_batch"):
        cross_validate(NoRecs, data, "holdout", seeds=0, metrics=("ndcg@10",))
