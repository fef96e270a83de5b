"""EmbeddingEncoder on real ML-100K (u1.base / u1.test with user and item metadata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab
from embedlab.features import EmbeddingEncoder

pytestmark = pytest.mark.realdata


def _u1(folder: Path, name: str, ds: embedlab.Interactions) -> pd.DataFrame:
    rows = pd.read_csv(folder / name, sep="\t", names=["user", "item", "rating", "ts"])
    users = ds.user_metadata.rename(columns={"id": "user"})
    frame = rows.merge(users, on="user", how="left")
    frame["zip1"] = frame["zip"].str[:1]
    for col in ("user", "item"):
        frame[col] = frame[col].astype(str).astype(object)
    frame["age"] = frame["age"].astype(float)
    return frame


def test_encoder_fits_and_transforms_ml100k_u1(ml100k_dir: Path):
    ds = embedlab.load_movielens(ml100k_dir)
    train, test = _u1(ml100k_dir, "u1.base", ds), _u1(ml100k_dir, "u1.test", ds)
    cols = ["user", "item", "occupation", "gender", "zip1", "age"]
    enc = EmbeddingEncoder(
        columns=cols[:-1],
        passthrough=True,
        epochs=2,
        task="regression",
        random_state=0,
        handle_unknown="bucket",
    )
    enc.fit(train[cols], train["rating"].to_numpy(dtype=float))
    out = enc.transform(test[cols])
    assert out.shape == (len(test), len(enc.get_feature_names_out()))
    assert np.isfinite(out).all()
    assert enc.history_[-1] < enc.history_[0]
    assert len(enc.column_embeddings("occupation")) == 21
