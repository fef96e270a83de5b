"""A 2-D map stored in the bundle at save time (``save(layout=...)``, ``train --layout``).

The explorer shows a stored map at once instead of computing t-SNE after start-up. The
map is the frame of :func:`embedlab.viz.project`; the bundle holds it in item row order
(``item_layout``, ``float32[n_items, 2]``) with its method in ``config.layout``, and a
forged map (NaN, wrong shape, a method no projection has, a tensor without its record)
is refused in one line like any other edited bundle.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from test_bundle_untrusted import _edit_config, _edit_tensors

import embedlab as el
from embedlab.exceptions import BundleError, DataWarning


@pytest.fixture
def fitted() -> el.MatrixFactorization:
    ds, _ = el.synthetic_ratings(50, 30, 800, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0).fit(
            ds, progress=False
        )


def test_saved_layout_loads_in_item_row_order(fitted, tmp_path):
    frame = el.viz.project(fitted, "pca")
    shuffled = frame.sample(frac=1.0, random_state=0)  # the key column decides, not the order
    shuffled.attrs = frame.attrs
    loaded = el.load(fitted.save(tmp_path / "mf", layout=shuffled))
    stored = loaded.item_layout_
    assert stored["method"] == "pca"
    assert stored["xy"].dtype == np.float32 and stored["xy"].shape == (30, 2)
    rows = fitted.items_.indices(frame["key"].tolist())
    np.testing.assert_allclose(stored["xy"][rows, 0], frame["x"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(stored["xy"][rows, 1], frame["y"], rtol=1e-6, atol=1e-6)
    assert fitted.item_layout_["method"] == "pca"  # the saved model now holds the map
    # saved again without layout=: the map stays; a new fit drops it (it would be stale)
    again = el.load(loaded.save(tmp_path / "again"))
    np.testing.assert_array_equal(again.item_layout_["xy"], stored["xy"])
    assert json.loads((tmp_path / "again" / "model.json").read_text())["config"]["layout"] == {
        "method": "pca"
    }


def test_no_layout_by_default(fitted, tmp_path):
    loaded = el.load(fitted.save(tmp_path / "plain"))
    assert loaded.item_layout_ is None
    assert "layout" not in json.loads((tmp_path / "plain" / "model.json").read_text())["config"]


def test_refit_drops_the_stored_map(fitted, tmp_path):
    loaded = el.load(fitted.save(tmp_path / "mf", layout=el.viz.project(fitted, "pca")))
    ds, _ = el.synthetic_ratings(50, 30, 800, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        loaded.fit(ds, progress=False)
    assert loaded.item_layout_ is None


def test_a_partial_or_foreign_layout_is_refused(fitted, tmp_path):
    frame = el.viz.project(fitted, "pca")
    with pytest.raises(ValueError, match=r"29 points for 30 items; project every item"):
        part = frame.iloc[1:]
        part.attrs = frame.attrs
        fitted.save(tmp_path / "a", layout=part)
    with pytest.raises(ValueError, match=r"columns key, x, y"):
        fitted.save(tmp_path / "b", layout=np.zeros((30, 2)))
    nameless = frame.copy()
    nameless.attrs = {}
    with pytest.raises(ValueError, match=r"attrs\['method'\] is None"):
        fitted.save(tmp_path / "c", layout=nameless)
    holed = frame.copy()
    holed.loc[3, "x"] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        fitted.save(tmp_path / "d", layout=holed)
    assert not any((tmp_path / name).exists() for name in "abcd")


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (
            lambda p: _edit_tensors(p, lambda t: t["item_layout"].__setitem__((0, 0), np.nan)),
            r"'item_layout' holds 1 non-finite value",
        ),
        (
            lambda p: _edit_tensors(
                p, lambda t: t.__setitem__("item_layout", t["item_layout"][:-1].copy())
            ),
            r"'item_layout' is float32\[29, 2\]; expected float32\[30, 2\]",
        ),
        (
            lambda p: _edit_config(p, lambda c: c["layout"].__setitem__("method", "mds")),
            r"config.layout.method.*'mds'.*tsne, pca, umap",
        ),
        (
            lambda p: _edit_config(p, lambda c: c.pop("layout")),
            r"unexpected tensor 'item_layout' \(config.layout is absent\)",
        ),
    ],
    ids=["nan", "short", "method", "no-record"],
)
def test_a_forged_map_is_refused_in_one_line(fitted, tmp_path, forge, message):
    path = fitted.save(tmp_path / "mf", layout=el.viz.project(fitted, "pca"))
    forge(path)
    with pytest.raises(BundleError, match=message) as caught:
        el.load(path)
    assert "\n" not in str(caught.value)


def test_train_stores_a_tsne_map_by_default(tmp_path):
    """``embedlab train`` writes the map the explorer shows first (t-SNE), or none."""
    ds, _ = el.synthetic_ratings(40, 25, 600, random_state=0)
    data = tmp_path / "r.csv"
    ds.to_pandas().to_csv(data, index=False)
    base = [sys.executable, "-m", "embedlab", "train", str(data), "--epochs", "2", "-q"]
    for extra, method in (([], "tsne"), (["--layout", "pca"], "pca"), (["--layout", "none"], None)):
        out = tmp_path / f"run-{method}"
        done = subprocess.run(
            [*base, "--out", str(out), *extra], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        stored = el.load(out).item_layout_
        assert (None if stored is None else stored["method"]) == method
        info = subprocess.run(
            [sys.executable, "-m", "embedlab", "info", str(out)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert ("stored (embedlab serve shows it)" in info) == (method is not None)
    done = subprocess.run(
        [*base, "--out", str(tmp_path / "bad"), "--layout", "mds"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--layout" in done.stderr and "tsne" in done.stderr
