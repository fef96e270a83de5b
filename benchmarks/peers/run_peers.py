"""Fit the peer systems on given train/test splits and print one JSON line per fit.

Runs inside the peers' own virtual environment (``benchmarks/peers/.venv``, made by
``setup.sh``), never in embedlab's::

    benchmarks/peers/.venv/bin/python benchmarks/peers/run_peers.py SPLITS_DIR [--peers a,b,...]

``SPLITS_DIR`` holds ``splits.json`` — a list of ``{"dataset", "split", "train", "test",
"rating_scale"}`` — and the CSV files it names (columns ``user,item,rating`` with raw IDs).
``benchmarks/bench_models.py`` writes them to a temporary folder and calls this script.

Each output line is a JSON object ``{peer, dataset, split, rmse, mae, fit_seconds, epochs,
epoch_seconds, n_train, n_test, load}`` (``epoch_seconds``: median seconds per epoch after the
first, for the Keras models; ``null`` elsewhere; ``load``: the 1-minute load average right
after the fit), or ``{peer, dataset, split, error}`` when
a peer fails. Diagnostics go to stderr.

Settings (each peer at its library's defaults unless stated):

* Surprise 1.1.x: ``SVD()``, ``SVDpp()``, ``BaselineOnly()``, ``NormalPredictor()``, all
  with ``random_state=0`` where the class takes one; ``SVD tuned``: ``n_factors=200,
  n_epochs=60, reg_all=0.1`` (the settings quoted in issue 3). Predictions are clipped to
  the rating scale (Surprise's default).
* LensKit 2025.x: ``BiasedMFScorer()`` (ALS, 50 features, 10 epochs, reg 0.1, damping 5)
  in ``predict_pipeline`` with its default fallback (bias model) for unscorable pairs.
* The course's Keras models, ported to Keras 3 on the TensorFlow backend (see
  ``keras_models``): target ``rating - train mean``, Adam, MSE loss, batch size 5000,
  shuffled each epoch, fixed epochs, no validation split (the course held out 5 % of
  its training data for a validation curve; here the test split is scored after
  training). Unknown test IDs map to an extra, untrained embedding row, as an ID absent
  from the course's training data would have.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ALL_PEERS = (
    "surprise-svd",
    "surprise-svd-tuned",
    "surprise-svdpp",
    "surprise-baselineonly",
    "surprise-normal",
    "lenskit-als-biasedmf",
    "keras-dnn",
    "keras-mf",
    "keras-mf-l2",
)


def _scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    err = np.asarray(pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err)))


# ------------------------------------------------------------------ Surprise
def _surprise(peer: str, train: pd.DataFrame, test: pd.DataFrame, scale) -> dict:
    import surprise

    algo = {
        "surprise-svd": lambda: surprise.SVD(random_state=0),
        "surprise-svd-tuned": lambda: surprise.SVD(
            n_factors=200, n_epochs=60, reg_all=0.1, random_state=0
        ),
        "surprise-svdpp": lambda: surprise.SVDpp(random_state=0),
        "surprise-baselineonly": lambda: surprise.BaselineOnly(verbose=False),
        "surprise-normal": lambda: surprise.NormalPredictor(),
    }[peer]()
    reader = surprise.Reader(rating_scale=tuple(scale))
    trainset = surprise.Dataset.load_from_df(
        train[["user", "item", "rating"]], reader
    ).build_full_trainset()
    if peer == "surprise-normal":
        np.random.seed(0)  # NormalPredictor draws from numpy's global generator
    t0 = time.perf_counter()
    algo.fit(trainset)
    fit = time.perf_counter() - t0
    preds = [
        algo.predict(u, i).est
        for u, i in zip(test["user"].tolist(), test["item"].tolist(), strict=True)
    ]
    rmse, mae = _scores(test["rating"].to_numpy(), np.array(preds))
    epochs = getattr(algo, "n_epochs", None)
    if peer == "surprise-baselineonly":
        epochs = 10  # ALS baseline, Surprise's default n_epochs
    return {"rmse": rmse, "mae": mae, "fit_seconds": fit, "epochs": epochs, "epoch_seconds": None}


# ------------------------------------------------------------------- LensKit
def _lenskit(peer: str, train: pd.DataFrame, test: pd.DataFrame, scale) -> dict:
    from lenskit.als import BiasedMFScorer
    from lenskit.batch import predict
    from lenskit.data import from_interactions_df
    from lenskit.pipeline import predict_pipeline

    data = from_interactions_df(
        train.rename(columns={"user": "user_id", "item": "item_id"}),
        user_col="user_id", item_col="item_id", rating_col="rating",
    )  # fmt: skip
    scorer = BiasedMFScorer()
    pipe = predict_pipeline(scorer)
    t0 = time.perf_counter()
    pipe.train(data)
    fit = time.perf_counter() - t0
    queries = test.rename(columns={"user": "user_id", "item": "item_id"})[["user_id", "item_id"]]
    out = predict(pipe, queries).to_df()
    merged = test.rename(columns={"user": "user_id", "item": "item_id"}).merge(
        out[["user_id", "item_id", "score"]], on=["user_id", "item_id"], how="left"
    )
    if merged["score"].isna().any():
        print(
            f"lenskit: {int(merged['score'].isna().sum())} unscored pairs set to the train mean",
            file=sys.stderr,
        )
        merged["score"] = merged["score"].fillna(train["rating"].mean())
    rmse, mae = _scores(merged["rating"].to_numpy(), merged["score"].to_numpy())
    return {
        "rmse": rmse,
        "mae": mae,
        "fit_seconds": fit,
        "epochs": scorer.config.epochs,
        "epoch_seconds": None,
    }


# --------------------------------------------------------------------- Keras
#: The course's settings, per model: (learning rate, epochs).
#: (Adam learning rate, epochs) of the course's notebooks (Kaggle Learn "Embeddings",
#: checked against its sources): lesson 1's DNN, lesson 2's MF, and exercise 2's
#: regularized MF (which the course trains at batch 10,000; the issue fixes 5000).
KERAS_SETTINGS = {
    "keras-dnn": (0.005, 20),
    "keras-mf": (0.001, 20),
    "keras-mf-l2": (0.005, 10),
}


def keras_models(kind: str, n_users: int, n_items: int):
    """The course's three models in Keras 3 (inputs: user index, item index)."""
    import keras
    from keras import layers

    user_in = keras.Input(shape=(1,), name="user_id", dtype="int32")
    item_in = keras.Input(shape=(1,), name="movie_id", dtype="int32")
    if kind == "keras-dnn":
        u = layers.Embedding(n_users, 8, name="user_embedding")(user_in)
        m = layers.Embedding(n_items, 8, name="movie_embedding")(item_in)
        out = layers.Flatten()(layers.Concatenate()([u, m]))
        for units in (32, 4):
            out = layers.Dense(units, activation="relu")(out)
        out = layers.Dense(1, activation="linear", name="prediction")(out)
        bias = layers.Flatten()(layers.Embedding(n_items, 1, name="bias")(item_in))
        out = layers.Add()([out, bias])
    elif kind == "keras-mf":
        u = layers.Embedding(n_users, 8, name="user_embedding")(user_in)
        m = layers.Embedding(n_items, 8, name="movie_embedding")(item_in)
        out = layers.Flatten()(layers.Dot(axes=2)([u, m]))
    elif kind == "keras-mf-l2":
        u = layers.Embedding(
            n_users, 8, name="user_embedding",
            embeddings_initializer="glorot_uniform",
            embeddings_regularizer=keras.regularizers.l2(1e-7),
        )(user_in)  # fmt: skip
        m = layers.Embedding(
            n_items, 8, name="movie_embedding",
            embeddings_initializer="glorot_uniform",
            embeddings_regularizer=keras.regularizers.l2(1e-6),
        )(item_in)  # fmt: skip
        out = layers.Flatten()(layers.Dot(axes=2)([u, m]))
    else:
        raise ValueError(kind)
    return keras.Model(inputs=[user_in, item_in], outputs=out)


def _keras(peer: str, train: pd.DataFrame, test: pd.DataFrame, scale) -> dict:
    import keras

    keras.utils.set_random_seed(0)
    users = pd.Index(train["user"].unique())
    items = pd.Index(train["item"].unique())

    def idx(index: pd.Index, values: pd.Series) -> np.ndarray:
        pos = index.get_indexer(values)
        return np.where(pos < 0, len(index), pos).astype(np.int32)  # unknown -> extra row

    u_tr, i_tr = idx(users, train["user"]), idx(items, train["item"])
    u_te, i_te = idx(users, test["user"]), idx(items, test["item"])
    mean = float(train["rating"].mean())
    y = (train["rating"].to_numpy(np.float32) - mean).astype(np.float32)
    lr, epochs = KERAS_SETTINGS[peer]
    # per-epoch timing needs only a few epochs (bench_neural_epochs.py at the ML-20M shape)
    epochs = int(os.environ.get("EMBEDLAB_KERAS_EPOCHS", epochs))
    model = keras_models(peer, len(users) + 1, len(items) + 1)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse", metrics=["mae"])

    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self._t)

    t0 = time.perf_counter()
    model.fit(
        [u_tr, i_tr],
        y,
        batch_size=5000,
        epochs=epochs,
        verbose=0,
        shuffle=True,
        callbacks=[Timer()],
    )
    fit = time.perf_counter() - t0
    pred = model.predict([u_te, i_te], batch_size=65536, verbose=0).reshape(-1) + mean
    rmse, mae = _scores(test["rating"].to_numpy(), pred)
    per_epoch = float(np.median(times[1:])) if len(times) > 1 else float(times[0])
    return {
        "rmse": rmse,
        "mae": mae,
        "fit_seconds": fit,
        "epochs": epochs,
        "epoch_seconds": per_epoch,
    }


RUNNERS = {
    p: (_surprise if p.startswith("surprise") else _lenskit if p.startswith("lenskit") else _keras)
    for p in ALL_PEERS
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("splits_dir", type=Path)
    parser.add_argument(
        "--peers",
        default=",".join(ALL_PEERS),
        help=f"comma-separated subset of {', '.join(ALL_PEERS)}",
    )
    parser.add_argument(
        "--versions", action="store_true", help="print the peers' library versions as JSON and exit"
    )
    opts = parser.parse_args(argv)
    if opts.versions:
        versions = {}
        for name in ("surprise", "lenskit", "tensorflow", "keras", "numpy", "torch"):
            try:
                versions[name] = __import__(name).__version__
            except Exception as e:
                versions[name] = f"unavailable ({type(e).__name__})"
        print(json.dumps({"versions": versions, "python": sys.version.split()[0]}), flush=True)
        return 0
    peers = [p.strip() for p in opts.peers.split(",") if p.strip()]
    unknown = sorted(set(peers) - set(ALL_PEERS))
    if unknown:
        parser.error(f"unknown peers: {', '.join(unknown)}")
    splits = json.loads((opts.splits_dir / "splits.json").read_text())
    for peer in peers:
        for s in splits:
            train = pd.read_csv(opts.splits_dir / s["train"])
            test = pd.read_csv(opts.splits_dir / s["test"])
            head = {"peer": peer, "dataset": s["dataset"], "split": s["split"]}
            try:
                res = RUNNERS[peer](peer, train, test, s["rating_scale"])
            except Exception as e:  # one failing peer must not stop the others
                print(json.dumps({**head, "error": f"{type(e).__name__}: {e}"}), flush=True)
                continue
            res["load"] = os.getloadavg()[0]
            print(
                json.dumps({**head, **res, "n_train": len(train), "n_test": len(test)}), flush=True
            )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    raise SystemExit(main())
