"""The settings of :class:`~embedlab.ImplicitMatrixFactorization` and their resolver.

The defaults were chosen on MovieLens 100K made implicit as the top-N benchmarks do it
(positives = ratings >= 4, 55,375 pairs; 20 % of each user's positives held out as the
test set, seed 0) by a grid scored only on a validation slice of the *training* part
(another 20 % of each user's remaining positives, seed 1): NDCG@10 and Recall@20 of the
validation positives among all items the user had not interacted with (Recall@k divides
by ``min(k, held-out positives)``). Width 64, 15 alternations and 3 conjugate-gradient
steps, as ``implicit``'s ``AlternatingLeastSquares(factors=64)``:

* ``implicit``'s own defaults (``regularization=0.01``; its confidence is ``α w``, ours
  ``1 + α w``, so its α of 1, 5 and 20 are our 0, 4 and 19), solved by this engine:
  NDCG@10 0.1439 / 0.1563 / 0.1473, Recall@20 0.2339 / 0.2559 / 0.2348.
* Larger L2 helps much more than α: 64 factors over-fit 943 users. The best region is a
  ridge ``λ ≈ 5-6 α`` (α 9-15, λ 50-75: NDCG@10 0.221-0.226, Recall@20 0.332-0.345);
  stronger L2 falls back to the most-popular list (NDCG@10 0.12). Chosen: ``alpha=9``,
  ``l2_user = l2_item = 50``: NDCG@10 0.2239, Recall@20 0.3450 (seeds 1 and 2: 0.2239 /
  0.3392 and 0.2255 / 0.3393; 30 alternations or 6 CG steps change the fourth decimal),
  against most-popular's 0.1208 / 0.1865.

λ is not scaled by a row's count (Hu et al., ``implicit``), so its best value grows with
the number of interactions per row: on data much larger than ML-100K, tune ``l2_user``,
``l2_item`` and ``alpha`` on a held-out slice.

BPR (``engine="bpr"``) and Spark (``engine="spark"``) have their own defaults
(:data:`IMPLICIT_ENGINE_DEFAULTS`), chosen on the same slice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from embedlab.exceptions import SettingsError
from embedlab.settings._fields import Choice, Int, Real, Settings, setting

__all__ = [
    "IMPLICIT_ENGINES",
    "IMPLICIT_ENGINE_DEFAULTS",
    "ImplicitMFSettings",
    "implicit_engine",
    "resolve_implicit",
]

#: Engines of :class:`ImplicitMFSettings` (``"auto"`` picks ``"als"``).
IMPLICIT_ENGINES = ("auto", "als", "bpr", "spark")

_ALS = ("als",)
_BPR = ("bpr",)
_CPU = ("als", "bpr")

#: Defaults of each engine for the fields left as ``None`` (module docstring: how the
#: ALS values were chosen).
IMPLICIT_ENGINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "als": {"epochs": 15, "alpha": 9.0, "l2_user": 50.0, "l2_item": 50.0, "init_std": 0.01},
    # The same validation slice, width 64: learning rate 0.02-0.1 x L2 0.001-0.05 x
    # 50-300 epochs; best lr 0.02, L2 0.02, 150 epochs: NDCG@10 0.2070, Recall@20 0.3237
    # (lr 0.05, L2 0.01: 0.1907 / 0.3118; 300 epochs: 0.2030 / 0.3350). BPR stays below
    # ALS on this data, as in the literature.
    "bpr": {
        "epochs": 150,
        "learning_rate": 0.02,
        "l2_user": 0.02,
        "l2_item": 0.02,
        "init_std": 0.1,
    },
    # Spark's L2 is scaled by each row's interactions (weighted-λ), so its values are not
    # the compiled engine's. Same validation slice, 15 iterations, width 64: α 1-20 x
    # L2 0.01-4; best α 5, L2 1.0: NDCG@10 0.2183, Recall@20 0.3374 (α 10: 0.2183 /
    # 0.3327; L2 0.5: 0.2130 / 0.3313; L2 2: 0.1719 / 0.3006; Spark's regParam 0.01 and
    # α 1-20: at most 0.1533 / 0.2605).
    "spark": {"epochs": 15, "alpha": 5.0, "l2_user": 1.0, "l2_item": 1.0},
}


@dataclass(frozen=True)
class ImplicitMFSettings(Settings):
    """Settings of :class:`~embedlab.ImplicitMatrixFactorization`: preference scores
    ``x_u·y_i`` learnt from implicit feedback (clicks, plays, purchases, with weights)."""

    embedding_dim: int = setting(64, Int(1, 1 << 20), "Width of the user and item vectors.")
    engine: str = setting(
        "auto",
        Choice(IMPLICIT_ENGINES),
        "auto (als), als (confidence-weighted ALS, conjugate gradient), bpr "
        "(Bayesian personalized ranking, SGD) or spark (Spark's implicit ALS).",
    )
    alpha: float | None = setting(
        None,
        Real(0, none=True),
        "Confidence scale α: an interaction of weight w counts 1 + α·w (None: the engine's).",
        engines=("als", "spark"),
    )
    l2_user: float | None = setting(
        None, Real(0, none=True), "L2 strength on user vectors (None: the engine's)."
    )
    l2_item: float | None = setting(
        None, Real(0, none=True), "L2 strength on item vectors (None: the engine's)."
    )
    epochs: int | None = setting(
        None,
        Int(1, 1_000_000, none=True),
        "ALS: alternations (users then items); BPR: passes of as many sampled triples as "
        "interactions (None: the engine's).",
    )
    cg_steps: int = setting(
        3,
        Int(1, 1000),
        "Conjugate-gradient steps per row and half-step, warm-started.",
        engines=_ALS,
    )
    learning_rate: float | None = setting(
        None,
        Real(0, 1e6, strict=True, none=True),
        "BPR step size (None: the engine's).",
        engines=_BPR,
    )
    init_std: float | None = setting(
        None,
        Real(0, none=True),
        "Standard deviation of the normal start of both tables (None: the engine's).",
        engines=_CPU,
    )
    n_threads: int | None = setting(
        None,
        Int(1, 4096, none=True),
        "CPU threads of the ALS solves (None: $EMBEDLAB_NUM_THREADS, else the CPUs "
        "available); the result does not depend on it. BPR runs on one thread.",
        engines=_ALS,
    )
    random_state: int | None = setting(
        None, Int(0, 2**63 - 1, none=True), "Seed (None: a fresh one, recorded in the bundle)."
    )
    device: str = setting(
        "auto",
        Choice(("auto", "cpu", "cuda")),
        "auto (cuda for ALS when torch sees a GPU), cpu or cuda (ALS in torch; BPR runs on "
        "the CPU).",
    )


def _changed(settings: Settings, name: str) -> bool:
    f = next(f for f in settings.fields() if f.name == name)
    return getattr(settings, name) != f.metadata["check"](name, f.default)


def implicit_engine(settings: ImplicitMFSettings) -> str:
    """The engine that trains ``settings`` (``"als"`` or ``"bpr"``).

    Raises:
        SettingsError: A field set that the engine does not use.
    """
    engine = "als" if settings.engine == "auto" else settings.engine
    for f in settings.fields():
        engines = f.metadata["engines"]
        if engines and engine not in engines and _changed(settings, f.name):
            raise SettingsError(
                f"{f.name}={getattr(settings, f.name)!r} does not apply to the {engine} engine "
                f"(only to {', '.join(engines)}); drop {f.name} or pick engine={engines[0]!r}"
            )
    return engine


def resolve_implicit(
    settings: ImplicitMFSettings, *, random_state: int, cuda: bool = False
) -> ImplicitMFSettings:
    """The concrete settings that train ``settings``: the engine, its defaults for the
    fields left as ``None``, the threads (:func:`embedlab._threads.default_threads`
    when unset; BPR runs on one), the device (``cuda``: torch sees a GPU) and the seed.

    Raises:
        SettingsError: As :func:`implicit_engine`; ``device="cuda"`` with BPR or with
            no GPU.
    """
    from embedlab._threads import default_threads

    engine = implicit_engine(settings)
    if settings.device == "cuda" and engine != "als":
        raise SettingsError(
            f"device='cuda': the {engine} engine runs on the CPU only; pass device='cpu' "
            "(or 'auto'), or engine='als' for the GPU"
        )
    if settings.device == "cuda" and not cuda:
        raise SettingsError(
            "device='cuda', but torch sees no CUDA GPU here; pass device='cpu' or 'auto'"
        )
    gpu = engine == "als" and cuda and settings.device in ("auto", "cuda")
    changes: dict[str, Any] = {
        "engine": engine,
        "random_state": int(random_state),
        "device": "cuda" if gpu else "cpu",
    }
    for name, value in IMPLICIT_ENGINE_DEFAULTS[engine].items():
        if getattr(settings, name) is None:
            changes[name] = value
    if engine == "als":
        changes["n_threads"] = settings.n_threads or default_threads()
    return dataclasses.replace(settings, **changes)
