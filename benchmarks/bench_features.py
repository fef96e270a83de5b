"""Embedding features vs one-hot features for gradient boosting on ML-100K (u1 split).

One command::

    python benchmarks/bench_features.py            # ~1 min on 4 cores
    python benchmarks/bench_features.py --quick    # 2 epochs, writes nothing

Protocol (stated again in the report):

1. Rows: ML-100K ``u1.base`` (80,000 ratings) to fit, ``u1.test`` (20,000) to score.
   Features of a row: user ID, item ID, occupation, gender, zip prefix (first character
   of the zip code), age (number) and the item's 19 genres (multi-hot, numbers), from
   ``embedlab.load_movielens``. Target: the rating.
2. Embedding features: ``EmbeddingEncoder(columns=[user, item, occupation, gender, zip1],
   passthrough=True, task="regression", handle_unknown="bucket", random_state=0,
   epochs=20)`` with its defaults otherwise (rule-of-thumb widths, hidden=(64,), at most 20
   epochs with early stopping, the batch planned from the rows, one-cycle Adam; the
   defaults of issue 22, not those of the 2026-11-29 results), fitted on u1.base only;
   ``fit`` then ``transform`` (not the cross-fitted ``fit_transform``), as issue 9 set it;
   its output goes to the regressor. Fit time = encoder fit + regressor fit.
3. One-hot features: ``OneHotEncoder(max_categories=100, handle_unknown="infrequent_if_exist",
   sparse_output=False)`` on the same five columns, age and genres passed through.
   ``HistGradientBoostingRegressor`` needs dense input, and a dense one-hot of all
   943 users and 1,650 items would be 80,000 x ~2,630 floats; ``max_categories=100`` keeps
   the 99 most frequent values per column and folds the rest into one "infrequent" column.
4. Regressor: ``HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1,
   random_state=0)`` (early stopping off: ``early_stopping=False``), the same for both.
5. Test RMSE on u1.test; wall-clock seconds (``perf_counter``) of each fit.

Results go to ``benchmarks/results/features_ml100k.md`` and ``features_ml100k.json`` (not with --quick).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from _common import cpu_name, data_dir, library_versions, write_results

CATS = ["user", "item", "occupation", "gender", "zip1"]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    import embedlab

    folder = data_dir() / "ml-100k"
    ds = embedlab.load_movielens(folder)
    users = ds.user_metadata.rename(columns={"id": "user"})
    items = ds.item_metadata[["id", "genres"]].rename(columns={"id": "item"})
    genres = sorted({g for gs in items["genres"] for g in gs})
    multi = pd.DataFrame(
        [[int(g in gs) for g in genres] for gs in items["genres"]],
        columns=[f"genre_{g}" for g in genres],
    )
    items = pd.concat([items[["item"]], multi], axis=1)

    def load(name: str) -> pd.DataFrame:
        rows = pd.read_csv(folder / name, sep="\t", names=["user", "item", "rating", "ts"])
        frame = rows.merge(users, on="user", how="left").merge(items, on="item", how="left")
        frame["zip1"] = frame["zip"].str[:1]
        frame["age"] = frame["age"].astype(float)
        for col in ("user", "item"):
            frame[col] = frame[col].astype(str).astype(object)
        return frame

    numeric = ["age", *multi.columns]
    return load("u1.base"), load("u1.test"), numeric


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def run(quick: bool) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.preprocessing import OneHotEncoder

    from embedlab.features import EmbeddingEncoder

    train, test, numeric = _frames()
    cols = CATS + numeric
    y_tr, y_te = train["rating"].to_numpy(float), test["rating"].to_numpy(float)

    def hgb() -> HistGradientBoostingRegressor:
        return HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.1, early_stopping=False, random_state=0
        )

    out: dict = {}
    t0 = time.perf_counter()
    enc = EmbeddingEncoder(
        columns=CATS,
        passthrough=True,
        task="regression",
        handle_unknown="bucket",
        random_state=0,
        epochs=2 if quick else 20,
    ).fit(train[cols], y_tr)
    t_enc = time.perf_counter() - t0
    f_tr, f_te = enc.transform(train[cols]), enc.transform(test[cols])
    t1 = time.perf_counter()
    model = hgb().fit(f_tr, y_tr)
    t_hgb = time.perf_counter() - t1
    out["embedding"] = {
        "n_features": int(f_tr.shape[1]),
        "embedding_dims": dict(zip(CATS, enc.embedding_dims_, strict=True)),
        "fit_s": round(t_enc + t_hgb, 2),
        "encoder_fit_s": round(t_enc, 2),
        "test_rmse": round(_rmse(model.predict(f_te), y_te), 4),
        "train_rmse": round(_rmse(model.predict(f_tr), y_tr), 4),
    }
    print("embedding", out["embedding"], flush=True)

    t0 = time.perf_counter()
    ohe = ColumnTransformer(
        [
            (
                "onehot",
                OneHotEncoder(
                    max_categories=100, handle_unknown="infrequent_if_exist", sparse_output=False
                ),
                CATS,
            )
        ],
        remainder="passthrough",
    ).fit(train[cols])
    o_tr, o_te = ohe.transform(train[cols]), ohe.transform(test[cols])
    model = hgb().fit(o_tr, y_tr)
    t_oh = time.perf_counter() - t0
    out["one_hot"] = {
        "n_features": int(o_tr.shape[1]),
        "fit_s": round(t_oh, 2),
        "test_rmse": round(_rmse(model.predict(o_te), y_te), 4),
        "train_rmse": round(_rmse(model.predict(o_tr), y_tr), 4),
    }
    print("one_hot", out["one_hot"], flush=True)
    out["global_mean_rmse"] = round(_rmse(np.full_like(y_te, y_tr.mean()), y_te), 4)
    return out


def report(r: dict) -> str:
    e, o, m = r["results"]["embedding"], r["results"]["one_hot"], r["machine"]
    ahead = "yes" if e["test_rmse"] < o["test_rmse"] else "no"
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
    return f"""# Embedding features vs one-hot for HistGradientBoostingRegressor (ML-100K u1)

{r["date"]} · {m["cpu"]}, {m["cores"]} cores · load average before {m["load_average_before"]},
after {m["load_average_after"]} · {versions}

Command: `python benchmarks/bench_features.py`. Protocol: see the script's docstring
(u1.base to fit, u1.test to score; user, item, occupation, gender, zip prefix as
categories; age and 19 genres as numbers; the same `HistGradientBoostingRegressor` on both).

| features | feature columns | fit time (s) | test RMSE | train RMSE |
|---|---:|---:|---:|---:|
| EmbeddingEncoder (+ age, genres) | {e["n_features"]} | {e["fit_s"]} (encoder {e["encoder_fit_s"]}) | {e["test_rmse"]} | {e["train_rmse"]} |
| one-hot, max_categories=100, dense (+ age, genres) | {o["n_features"]} | {o["fit_s"]} | {o["test_rmse"]} | {o["train_rmse"]} |
| global mean (reference) | 0 | | {r["results"]["global_mean_rmse"]} | |

Embedding widths (rule of thumb `min(50, round(1.6 * n ** 0.56))`): {e["embedding_dims"]}.
Target of issue 9, embedding features ahead on test RMSE: **{ahead}**.

One-hot choice: `HistGradientBoostingRegressor` needs dense input; a dense one-hot of every
user and item would be ~2,630 columns, so `OneHotEncoder(max_categories=100)` keeps the 99
most frequent values of each column and folds the rest into an "infrequent" column.
The embeddings are learned from the same u1.base ratings the regressor is fitted on (no
cross-fitting), so the train RMSE of the embedding row is optimistic, as with target encoding.
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 epochs; write nothing")
    args = ap.parse_args()
    load_before = os.getloadavg()
    results = run(args.quick)
    load_after = os.getloadavg()
    if args.quick:
        return 0
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after],
        },
        "versions": library_versions(),
        "results": results,
    }
    write_results("features_ml100k", result, report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
