"""The settings of each model: every hyperparameter, its default, its check and its doc.

This module is the one place where a default lives. ``None`` in a field means "the
engine's default" (:data:`ENGINE_DEFAULTS`) or "off"; :func:`resolve_mf` and
:func:`resolve_neural` turn a settings object into the concrete values that train a
model on given data, and that record is what a saved bundle stores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from embedlab.exceptions import SettingsError
from embedlab.settings._fields import (
    Bool,
    Choice,
    Dims,
    Flag,
    Int,
    Ints,
    Pair,
    Real,
    Settings,
    deprecated,
    setting,
)

__all__ = [
    "ENGINE_DEFAULTS",
    "MF_ENGINES",
    "NEURAL_ENGINES",
    "PRETRAIN_MF",
    "MFSettings",
    "NeuralSettings",
    "resolve_mf",
    "resolve_neural",
]

#: Engines of :class:`MFSettings` (``"auto"`` picks one of the others).
MF_ENGINES = ("auto", "sgd", "torch", "als", "spark")
#: Engines of :class:`NeuralSettings`.
NEURAL_ENGINES = ("auto", "compiled", "torch")
#: Largest table width accepted (a 2^20-wide table of even 100 rows is 400 MB).
MAX_DIM = 1 << 20
#: Largest number of epochs accepted.
MAX_EPOCHS = 1_000_000
#: Largest batch accepted (ratings per step; the compiled kernels index with int64).
MAX_BATCH = 2**31 - 1

_OPTIMIZERS = ("adam", "adagrad", "sgd")
_SCHEDULES = ("constant", "step", "exponential", "cosine")

#: Defaults of each matrix-factorization engine for the fields left as ``None``.
ENGINE_DEFAULTS: dict[str, dict[str, Any]] = {
    # Chosen on a 10% validation split of ML-100K u1.base and of ml-latest-small's
    # 90 % training part (never a test split): a grid over width 64-96, rate 0.04-0.06,
    # final rate 6-20 % of the first and L2 0.05-0.07, then the most accurate settings
    # that fit in under a fifth of Surprise SVD()'s time. Checked afterwards (seeds 0-4):
    # u1-u5 mean test RMSE 0.9043-0.9050 (seed 0: 0.90497), ml-latest-small 0.8396-0.8401
    # (the former 512-wide, 50-epoch default: 0.9042-0.9046 and 0.838, 15x slower). Halving the
    # biases' rate gained 0.0002 (u1-u5) but hid most of the unregularized model's
    # obscure items (evaluation.OBSCURITY_MODELS), so both tables share one rate. A
    # tiny start (init_std) is an implicit regularizer on rating data: 0.05 gives 0.924
    # on the same validation split.
    # bias_damping: the smallest whole number keeping the share of items with < 10
    # ratings in the top 10 under 5 % with margin on both training sets.
    "sgd": {
        "bias_damping": 7.0,
        "epochs": 20,
        "learning_rate": 0.06,
        # the rate falls geometrically to this fraction of its start by the last epoch
        # (0.88 per epoch over the default 20)
        "final_learning_rate_fraction": 0.088,
        "l2_user": 0.06,
        "l2_item": 0.06,
        "l2_bias": 0.005,
        "init_std": 0.005,
    },
    # Lazy Adam on mini-batches with the per-occurrence L2 of the batch's rows; tuned
    # lightly on ML-100K u1 (validation RMSE 0.924 after 30 epochs).
    "torch": {
        "epochs": 30,
        "learning_rate": 0.005,
        "l2_user": 0.1,
        "l2_item": 0.1,
        "l2_bias": 0.01,
        "init_std": 0.05,
        "batch_size": 1024,
        "optimizer": "adam",
    },
    # Biased ALS (weighted-λ, the same objective as "sgd"). Grid on a 10% validation
    # split of ML-100K u1.base (never a test fold), dims 32-256 x L2 0.05-0.3: L2 0.1-0.12
    # is best at every width from 64 up (val RMSE 0.917 at 64, 128 and 256; 0.923 at
    # 32), converged by 10 alternations.
    "als": {
        "epochs": 10,
        "l2_user": 0.12,
        "l2_item": 0.12,
        "l2_bias": 0.01,
        "init_std": 0.1,
    },
    # pyspark.ml ALS on the residual of damped biases (l2_bias per rating, bias_damping
    # once per row). Same validation split, dim 64, 10 iterations: L2 0.15 with β=5 gave
    # 0.9205 (L2 0.1: 0.9219; β 0 / 15: 0.925); ALS itself barely moves after 10.
    "spark": {
        "epochs": 10,
        "l2_user": 0.15,
        "l2_item": 0.15,
        "l2_bias": 0.0,
        "bias_damping": 5.0,
    },
}

_SGD = ("sgd",)
_TORCH = ("torch",)


@dataclass(frozen=True)
class MFSettings(Settings):
    """Settings of :class:`~embedlab.MatrixFactorization`: ``r̂ = μ + b_u + b_i + p_u·q_i``."""

    embedding_dim: int = setting(
        96, Int(1, MAX_DIM), "Width of the user and item vectors p_u and q_i."
    )
    user_bias: bool = setting(True, Bool(), "Learn a bias b_u per user.")
    item_bias: bool = setting(True, Bool(), "Learn a bias b_i per item.")
    global_bias: bool = setting(True, Bool(), "Add μ, the mean training rating.")
    squash: tuple[float, ...] = setting(
        None, Pair(), "None, or (low, high): low + (high - low)·sigmoid(r̂).", engines=_TORCH
    )
    clip: bool = setting(
        True,
        Bool(),
        "Clip predicted ratings to the training rating scale (ranking and the history use raw scores).",
    )
    init: str = setting(
        "normal",
        Choice(("normal", "glorot_uniform")),
        "Initializer of the vectors: normal or glorot_uniform (Keras).",
        engines=_TORCH,
    )
    init_std: float | None = setting(
        None,
        Real(0, none=True),
        "Standard deviation of the normal initializer (None: the engine's).",
        engines=("sgd", "als", "torch"),
    )
    l2_user: float | None = setting(
        None, Real(0, none=True), "L2 strength on user vectors (None: the engine's)."
    )
    l2_item: float | None = setting(
        None, Real(0, none=True), "L2 strength on item vectors (None: the engine's)."
    )
    l2_bias: float | None = setting(
        None, Real(0, none=True), "L2 strength on both bias tables (None: the engine's)."
    )
    bias_damping: float | None = setting(
        None,
        Real(0, none=True),
        "Extra L2 β·b² once per user and item, shrinking rare rows' biases (None: the engine's).",
        engines=("sgd", "spark"),
    )
    l2_mode: str = setting(
        "batch",
        Choice(("batch", "table")),
        "L2 per occurrence (batch) or on whole tables every step (table, Keras).",
        engines=_TORCH,
    )
    optimizer: str | None = setting(
        None,
        Choice(_OPTIMIZERS, none=True),
        "adam (lazy), adagrad or sgd (None: the engine's).",
        engines=_TORCH,
    )
    learning_rate: float | None = setting(
        None,
        Real(0, 1e6, strict=True, none=True),
        "Step size (None: the engine's).",
        engines=("sgd", "torch"),
    )
    final_learning_rate_fraction: float | None = setting(
        None,
        Real(0, 1, strict=True, none=True),
        "The SGD engine's rate falls geometrically to this fraction of its start by the "
        "last epoch (None: the engine's).",
        engines=_SGD,
    )
    schedule: str = setting(
        None,
        Choice(_SCHEDULES, none=True, none_as="constant"),
        "Learning-rate schedule: constant, step, exponential or cosine.",
        engines=_TORCH,
    )
    batch_size: int | None = setting(
        None, Int(1, MAX_BATCH, none=True), "Ratings per step (None: the engine's).", engines=_TORCH
    )
    epochs: int | None = setting(
        None,
        Int(1, MAX_EPOCHS, none=True),
        "Passes over the data; ALS: alternations (None: the engine's).",
    )
    patience: int = setting(
        None,
        Int(0, none=True, none_as=0),
        "Early-stopping patience in epochs (needs validation data); 0 or None: off.",
        engines=("sgd", "als", "torch"),
    )
    holdout: float = setting(
        0.05,
        Real(0, 0.5),
        "Without validation data, the share of ratings (at most 20,000) held out to "
        "early-stop, tune epochs left to the engine and check the factors against the "
        "biases-only model (up to 20,000 ratings: 5-fold cross-validation, also of L2); "
        "0: off.",
        engines=_SGD,
    )
    fallback: bool = setting(
        True,
        Bool(),
        "Predict with the biases-only model (and say so) when the factors are not clearly "
        "better on the held-out ratings.",
        engines=_SGD,
    )
    engine: str = setting(
        "auto", Choice(MF_ENGINES), "auto, sgd (compiled CPU SGD), torch, als or spark."
    )
    n_threads: int | None = setting(
        None,
        Int(1, 4096, none=True),
        "CPU threads (None: $EMBEDLAB_NUM_THREADS, else the CPUs available; "
        "SGD: at most one per 250,000 ratings).",
        engines=("sgd", "als", "torch"),
    )
    random_state: int | None = setting(
        None, Int(0, 2**63 - 1, none=True), "Seed (None: a fresh one, recorded in the bundle)."
    )
    device: str = setting("auto", Choice(("auto", "cpu", "cuda")), "auto, cpu or cuda.")


#: Settings of the matrix-factorization fit that starts the neural model's tables
#: (``pretrain="mf"``): the compiled SGD engine's former defaults (50 epochs from 0.015,
#: 3 % less per epoch), kept apart from :data:`ENGINE_DEFAULTS` so that retuning
#: ``MatrixFactorization`` for speed leaves the neural model's tuned start unchanged.
#: ``embedding_dim``, the biases and the seed come from the neural model.
PRETRAIN_MF = MFSettings(
    engine="sgd",
    epochs=50,
    learning_rate=0.015,
    final_learning_rate_fraction=0.97**49,
    l2_user=0.06,
    l2_item=0.06,
    l2_bias=0.01,
    bias_damping=7.0,
    init_std=0.005,
)


@dataclass(frozen=True)
class NeuralSettings(Settings):
    """Settings of :class:`~embedlab.NeuralEmbeddingModel`."""

    embedding_dim: int | tuple[int, int] = setting(
        128,
        Dims(high=MAX_DIM),
        "Width of the user and item tables, or a (user, item) pair of widths.",
    )
    hidden: tuple[int, ...] = setting(
        (32, 4), Ints(1, high=MAX_DIM), "Sizes of the hidden ReLU layers."
    )
    dropout: float = setting(0.3, Real(0, 1), "Dropout after each hidden layer.")
    user_bias: bool = setting(True, Bool(), "Learn a bias b_u per user.")
    item_bias: bool = setting(True, Bool(), "Learn a bias b_i per item.")
    global_bias: bool = setting(True, Bool(), "Add μ, the mean training rating.")
    squash: tuple[float, ...] = setting(
        None, Pair(), "None, or (low, high): low + (high - low)·sigmoid(r̂)."
    )
    clip: bool = setting(
        True,
        Bool(),
        "Clip predicted ratings to the training rating scale (ranking and the history use raw scores).",
    )
    init: str = setting(
        "glorot_uniform",
        Choice(("normal", "glorot_uniform")),
        "Initializer of the tables: glorot_uniform (Keras) or normal.",
    )
    init_std: float = setting(0.1, Real(0), "Standard deviation of the normal initializer.")
    l2_user: float = setting(0.2, Real(0), "L2 strength on user vectors.")
    l2_item: float = setting(0.2, Real(0), "L2 strength on item vectors.")
    l2_bias: float = setting(0.05, Real(0), "L2 strength on the bias tables.")
    l2_mode: str = setting(
        "batch",
        Choice(("batch", "table")),
        "L2 per occurrence (batch) or on whole tables every step (table, Keras).",
    )
    optimizer: str = setting("adam", Choice(_OPTIMIZERS), "adam (lazy), adagrad or sgd.")
    learning_rate: float = setting(3e-4, Real(0, 1e6, strict=True), "Step size.")
    schedule: str = setting(
        "cosine",
        Choice(_SCHEDULES, none=True, none_as="constant"),
        "Learning-rate schedule: constant, step, exponential or cosine.",
    )
    batch_size: int = setting(1024, Int(1, MAX_BATCH), "Ratings per step.")
    epochs: int = setting(10, Int(1, MAX_EPOCHS), "Passes over the data.")
    patience: int = setting(
        None,
        Int(0, none=True, none_as=0),
        "Early-stopping patience in epochs (needs validation data); 0 or None: off.",
    )
    dot: bool = setting(True, Bool(), "Add a dot-product branch p_u·q_i beside the MLP.")
    pretrain: str = setting(
        "mf",
        Choice(("mf", "none"), none=True, none_as="none"),
        "mf: start the tables from a matrix-factorization fit; none (or None): from the initializer.",
    )
    engine: str = setting(
        "auto", Choice(NEURAL_ENGINES), "auto, compiled (fused CPU kernel) or torch."
    )
    n_threads: int | None = setting(
        None,
        Int(1, 4096, none=True),
        "CPU threads (None: $EMBEDLAB_NUM_THREADS, else the CPUs available).",
    )
    distributed: bool | str = setting(
        "auto",
        Flag(("auto",)),
        "auto (data-parallel under torchrun), True or False.",
        cli=False,
    )
    random_state: int | None = setting(
        None, Int(0, 2**63 - 1, none=True), "Seed (None: a fresh one, recorded in the bundle)."
    )
    device: str = setting("auto", Choice(("auto", "cpu", "cuda")), "auto, cpu or cuda.")

    @classmethod
    def translate(cls, values: dict[str, Any], owner: str) -> dict[str, Any]:
        """``user_dim=`` / ``item_dim=`` (before 0.2) become ``embedding_dim=(user, item)``."""
        old = [k for k in ("user_dim", "item_dim") if k in values]
        if old:
            deprecated(owner, old, "embedding_dim")
            base = values.get("embedding_dim", 128)
            u, i = (base, base) if not isinstance(base, (tuple, list)) else base
            u = values.pop("user_dim", u)
            i = values.pop("item_dim", i)
            values["embedding_dim"] = u if u == i else (u, i)
        return values

    @property
    def dims(self) -> tuple[int, int]:
        """``(user width, item width)``."""
        d = self.embedding_dim
        return (d, d) if isinstance(d, int) else (int(d[0]), int(d[1]))

    def validate(self) -> None:
        u, i = self.dims
        if self.pretrain == "mf" and u != i:
            raise SettingsError(
                f"pretrain='mf' starts both tables from one matrix factorization, which needs "
                f"one width (got embedding_dim=({u}, {i})); make them equal or pass pretrain=None"
            )
        if self.dot and u != i:
            raise SettingsError(
                f"dot=True multiplies the user and item vectors, which needs one width "
                f"(got embedding_dim=({u}, {i})); make them equal or pass dot=False"
            )


# ---------------------------------------------------------------------- resolvers
def _is_set(settings: Settings, name: str) -> bool:
    """Whether the user changed field ``name`` from its (normalized) default."""
    f = next(f for f in settings.fields() if f.name == name)
    default = f.metadata["check"](name, f.default)
    return getattr(settings, name) != default


def mf_engine(settings: MFSettings, *, cuda: bool, checkpoint: bool = False) -> str:
    """The engine that trains ``settings`` (``"sgd"``, ``"torch"``, ``"als"`` or ``"spark"``).

    ``"auto"`` picks ``"sgd"``, or ``"torch"`` when an option only it has is set (or the
    model goes to a GPU).

    Raises:
        SettingsError: An option the chosen engine does not have.
    """
    s = settings
    torch_only = [
        f.name
        for f in s.fields()
        if f.metadata["engines"] == _TORCH and f.name != "bias_damping" and _is_set(s, f.name)
    ]
    if checkpoint:
        torch_only.append("checkpoint_dir")
    on_gpu = s.device == "cuda" or (s.device == "auto" and cuda)
    if on_gpu and not (s.engine in ("als", "spark") and s.device == "auto"):
        torch_only.append("device")
    if s.engine in ("sgd", "als", "spark") and torch_only:
        raise SettingsError(
            f"engine={s.engine!r} does not support {', '.join(torch_only)}; "
            "use engine='torch' (or 'auto')"
        )
    engine = ("torch" if torch_only else "sgd") if s.engine == "auto" else s.engine
    if engine in ("torch", "als") and s.bias_damping:
        because = (
            f" (because of {', '.join(torch_only)})" if torch_only and s.engine == "auto" else ""
        )
        raise SettingsError(
            f"bias_damping={s.bias_damping!r} exists only in the 'sgd' and 'spark' engines, "
            f"but the {engine} engine would train this model{because}; drop bias_damping"
            + (" or those options" if because else " or pick engine='sgd'")
        )
    if engine == "spark":
        if s.n_threads is not None:
            raise SettingsError(
                f"n_threads={s.n_threads!r} does not apply to engine='spark'; "
                "choose the Spark master's cores instead (spark_master='local[4]')"
            )
        if s.patience:
            raise SettingsError(
                f"patience={s.patience!r}: engine='spark' trains all epochs in one "
                "Spark ALS fit and cannot stop early; drop patience"
            )
    for f in s.fields():
        engines = f.metadata["engines"]
        if engines and engine not in engines and f.name != "bias_damping" and _is_set(s, f.name):
            raise SettingsError(
                f"{f.name}={getattr(s, f.name)!r} does not apply to the {engine} engine "
                f"(only to {', '.join(engines)}); drop {f.name} or pick engine={engines[0]!r}"
            )
    return engine


def _cpus() -> int:
    """Threads when none is set: ``$EMBEDLAB_NUM_THREADS``, else the CPUs this process
    may use (affinity and cgroup quota): :func:`embedlab._threads.default_threads`."""
    from embedlab._threads import default_threads

    return default_threads()


#: With ``n_threads=None``, SGD uses one thread per this many ratings (at most all
#: cores): on small data, starting the parallel region each epoch and sharing cache
#: lines of popular rows cost more than the threads gain.
RATINGS_PER_THREAD = 250_000
#: From this many ratings on, the SGD engine's held-out check trains no model on all
#: the ratings beside the one it checks: that model (on 99 % or more) is the result.
HOLDOUT_PROBE_ONLY = 1_000_000


def resolve_mf(
    settings: MFSettings,
    *,
    n_ratings: int,
    random_state: int,
    cuda: bool = False,
    checkpoint: bool = False,
    holdout: bool = False,
) -> MFSettings:
    """The concrete settings that train ``settings`` on ``n_ratings`` ratings.

    ``holdout``: no validation data was given, so the SGD engine may hold out a slice
    (``settings.holdout``); below :data:`HOLDOUT_PROBE_ONLY` ratings it then trains two
    models side by side and takes two threads (the CPUs allowing) when ``n_threads``
    is left to it.

    The engine is chosen (:func:`mf_engine`), every ``None`` the engine uses becomes
    the engine's default (:data:`ENGINE_DEFAULTS`), the thread count the one that
    runs (unset: the policy's, :func:`embedlab._threads.default_threads`), the seed
    the one drawn. Fields the
    engine does not use stay ``None`` and are left out of :meth:`used`.

    Raises:
        SettingsError: As :func:`mf_engine`.
    """
    engine = mf_engine(settings, cuda=cuda, checkpoint=checkpoint)
    defaults = ENGINE_DEFAULTS[engine]
    changes: dict[str, Any] = {"engine": engine, "random_state": int(random_state)}
    for f in settings.fields():
        engines = f.metadata["engines"]
        used = engines is None or engine in engines
        if used and getattr(settings, f.name) is None and f.name in defaults:
            changes[f.name] = defaults[f.name]
    if engine == "torch":
        gpu = settings.device == "cuda" or (settings.device == "auto" and cuda)
        changes["device"] = "cuda" if gpu else "cpu"
        changes["n_threads"] = settings.n_threads or _cpus()
    else:
        changes["device"] = "cpu"
    if engine in ("sgd", "als"):
        wanted = settings.n_threads
        if wanted is None:
            wanted = max(1, n_ratings // RATINGS_PER_THREAD) if engine == "sgd" else _cpus()
            if engine == "sgd" and holdout and settings.holdout and n_ratings < HOLDOUT_PROBE_ONLY:
                # the checked model and the model on all ratings train side by side
                wanted = 2
        changes["n_threads"] = min(wanted, _cpus())
    return dataclasses.replace(settings, **changes)


def used_fields(settings: Settings) -> dict[str, Any]:
    """The resolved fields its engine uses, as JSON (what a bundle records)."""
    engine = getattr(settings, "engine", None)
    out = {}
    for f in settings.fields():
        engines = f.metadata["engines"]
        if engines is None or engine in engines:
            value = getattr(settings, f.name)
            if value is None:
                raise SettingsError(f"{f.name} is not resolved; call resolve_* first")
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def neural_engine(settings: NeuralSettings, *, device: str, distributed: bool) -> str:
    """The engine that runs the neural model's epochs (the trainer's rule)."""
    compiled_fits = (
        device == "cpu"
        and settings.optimizer == "adam"
        and settings.l2_mode == "batch"
        and not distributed
    )
    if settings.engine == "auto":
        return "compiled" if compiled_fits else "torch"
    return settings.engine


def resolve_neural(
    settings: NeuralSettings,
    *,
    random_state: int,
    cuda: bool = False,
    distributed: bool = False,
) -> NeuralSettings:
    """The concrete settings that train ``settings``: device, engine, seed and threads.

    Threads left unset become the policy's (:func:`embedlab._threads.default_threads`).
    """
    gpu = settings.device == "cuda" or (settings.device == "auto" and cuda)
    device = "cuda" if gpu else "cpu"
    return dataclasses.replace(
        settings,
        device=device,
        engine=neural_engine(settings, device=device, distributed=distributed),
        random_state=int(random_state),
        n_threads=settings.n_threads if settings.n_threads is not None else _cpus(),
        distributed=bool(distributed),
    )
