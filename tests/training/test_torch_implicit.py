"""The torch implicit ALS (the GPU path) against the compiled CPU engine, on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embedlab.exceptions import DataError
from embedlab.training import _torch_implicit
from embedlab.training._cpu_implicit import fit_implicit_als
from embedlab.training._torch_implicit import fit_implicit_als_torch


def _blocks(n_users=90, n_items=45, seed=0):
    rng = np.random.default_rng(seed)
    ui, ii = [], []
    for u in range(n_users - 2):  # the last two users have no interactions
        items = rng.choice(15, 6, replace=False) + 15 * (u % 3)
        ui += [u] * 6
        ii += list(items)
    w = rng.integers(1, 5, len(ui)).astype(np.float32)
    return np.array(ui, np.int32), np.array(ii, np.int32), w


KW = dict(embedding_dim=6, epochs=4, l2_user=0.5, l2_item=1.5, alpha=4.0, random_state=7)


@pytest.mark.parametrize("cg_steps", [1, 3, 12])
def test_torch_float64_equals_the_compiled_engine(cg_steps):
    ui, ii, w = _blocks()
    cpu, cpu_hist = fit_implicit_als(ui, ii, w, 90, 45, cg_steps=cg_steps, n_threads=1, **KW)
    tor, tor_hist = fit_implicit_als_torch(
        ui, ii, w, 90, 45, cg_steps=cg_steps, device="cpu", dtype=torch.float64, **KW
    )
    for name in cpu:
        assert tor[name].dtype == np.float32
        np.testing.assert_allclose(tor[name], cpu[name], rtol=1e-5, atol=1e-6)
    assert not tor["user_embedding.weight"][-2:].any()
    np.testing.assert_allclose(
        [r["train_loss"] for r in tor_hist], [r["train_loss"] for r in cpu_hist], rtol=1e-6
    )


def test_chunked_scatter_gives_the_same_tables(monkeypatch):
    ui, ii, w = _blocks()
    whole, _ = fit_implicit_als_torch(ui, ii, w, 90, 45, device="cpu", dtype=torch.float64, **KW)
    monkeypatch.setattr(_torch_implicit, "CHUNK", 37)
    parts, _ = fit_implicit_als_torch(ui, ii, w, 90, 45, device="cpu", dtype=torch.float64, **KW)
    for name in whole:
        np.testing.assert_allclose(parts[name], whole[name], rtol=1e-6, atol=1e-7)


def test_float32_is_close_and_bad_weights_refused():
    ui, ii, w = _blocks()
    cpu, _ = fit_implicit_als(ui, ii, w, 90, 45, n_threads=1, **KW)
    f32, _ = fit_implicit_als_torch(ui, ii, w, 90, 45, device="cpu", **KW)
    for name in cpu:
        np.testing.assert_allclose(f32[name], cpu[name], rtol=1e-3, atol=1e-4)
    with pytest.raises(DataError, match="negative"):
        fit_implicit_als_torch(ui, ii, -w, 90, 45, device="cpu", **KW)


def test_the_estimator_sends_device_cuda_to_the_torch_path(monkeypatch):
    """With a GPU (pretended), ``device="auto"`` trains ALS in torch; here the torch path
    runs on the CPU in float64 and must give the compiled engine's tables."""
    import embedlab as el
    from embedlab.data import Interactions
    from embedlab.exceptions import SettingsError

    ui, ii, w = _blocks()
    vocab = Interactions.from_ids(ui, ii, w)  # IDs 0..n in index order
    ds = Interactions(
        vocab.user_index,
        vocab.item_index,
        vocab.rating,
        vocab.users,
        vocab.items,
        feedback="implicit",
    )
    params = dict(embedding_dim=6, epochs=3, l2_user=0.5, l2_item=1.5, alpha=4.0, random_state=7)
    cpu = el.ImplicitMatrixFactorization(device="cpu", **params).fit(ds, progress=False)
    assert cpu.settings_.device == "cpu"
    calls = []
    real = _torch_implicit.fit_implicit_als_torch

    def on_cpu(*args, device, **kw):
        calls.append(device)
        return real(*args, device="cpu", dtype=torch.float64, **kw)

    monkeypatch.setattr(_torch_implicit, "fit_implicit_als_torch", on_cpu)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gpu = el.ImplicitMatrixFactorization(**params).fit(ds, progress=False)
    assert calls == ["cuda"] and gpu.settings_.device == "cuda"
    np.testing.assert_allclose(
        gpu.item_embeddings().vectors, cpu.item_embeddings().vectors, rtol=1e-5, atol=1e-6
    )
    with pytest.raises(SettingsError, match="runs on the CPU only"):
        el.ImplicitMatrixFactorization(engine="bpr", device="cuda").fit(ds, progress=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SettingsError, match="sees no CUDA GPU"):
        el.ImplicitMatrixFactorization(device="cuda").fit(ds, progress=False)
