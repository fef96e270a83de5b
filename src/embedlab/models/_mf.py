"""MatrixFactorization: the estimator for ``r̂ = μ + b_u + b_i + p_u·q_i``."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from embedlab.models._base import EmbeddingModel
from embedlab.nn import MFModule
from embedlab.training import History, Trainer, resolve_device

__all__ = ["MatrixFactorization"]

#: Defaults of each engine for the parameters left as ``None``.
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
        "bias_damping": 0.0,
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
        "init_std": 0.1,
    },
}

#: Engines :class:`MatrixFactorization` accepts.
ENGINES = ("auto", "sgd", "torch", "als", "spark")


def sgd_schedule(learning_rate: float, epochs: int) -> dict[str, float]:
    """The SGD engine's step size and its per-epoch decay for a run of ``epochs``.

    The rate falls geometrically from ``learning_rate`` to
    ``final_learning_rate_fraction`` of it at the last epoch, so a longer run also
    anneals more slowly.
    """
    d = ENGINE_DEFAULTS["sgd"]
    valid = all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)
        for v in (learning_rate, epochs)
    )
    if not valid:  # the engine names the bad value in its own error
        return {"learning_rate": learning_rate}
    decay = d["final_learning_rate_fraction"] ** (1.0 / (epochs - 1)) if epochs > 1 else 1.0
    return {"learning_rate": learning_rate, "learning_rate_decay": decay}


def _load_params(module: MFModule, params: dict[str, Any]) -> None:
    """Put an engine's arrays into ``module``, sharing their memory (no copy) where possible."""
    state = module.state_dict()
    if set(params) != set(state):
        raise ValueError(f"engine returned {sorted(params)}, the module has {sorted(state)}")
    with torch.no_grad():
        for name, value in params.items():
            owner, _, attr = name.rpartition(".")
            target = module.get_submodule(owner) if owner else module
            tensor = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
            getattr(target, attr).data = tensor.reshape(state[name].shape)


class MatrixFactorization(EmbeddingModel):
    """Biased matrix factorization: ``r̂(u, i) = μ + b_u + b_i + p_u · q_i``.

    With all three biases off it is the course's first model, the plain dot product.
    ``μ`` starts at the training mean; biases at zero; embeddings from ``init``.

    Four engines train it and produce the same model (parameter names, bundle):

    * ``"sgd"``: the compiled, multi-threaded lock-free SGD engine (numba) with the
      classic per-rating update and per-occurrence L2 (Funk / Surprise). The
      default on CPU: the fastest to a given validation RMSE here.
    * ``"torch"``: the mini-batch trainer (lazy Adam, Adagrad or SGD; two L2 modes;
      schedules; checkpoints; GPU). Used on a GPU, or when an option only it has is
      set (``squash``, ``init="glorot_uniform"``, ``optimizer``, ``schedule``,
      ``l2_mode="table"``, ``checkpoint_dir``).
    * ``"als"``: compiled alternating least squares with biases
      (:func:`~embedlab.training.fit_mf_als`; same objective as ``"sgd"``,
      ``epochs`` = alternations). Few, costly iterations whose cost grows with
      ``embedding_dim``³: pass ``embedding_dim=64`` (ML-100K u1: test RMSE 0.924 in
      1.8 s; 512 dimensions give 0.923 in 2 minutes).
    * ``"spark"``: ``pyspark.ml`` ALS on a Spark session (``pip install
      "embedlab[spark]"``, Java 17): damped biases from Spark aggregations, then
      ALS on the residual (see :mod:`embedlab.training._spark`). ``fit`` takes
      ``spark=``, ``spark_master=`` and ``spark_conf=``; for data Spark should read
      itself use :func:`embedlab.training.fit_spark_als`. One history record.

    ``engine="auto"`` picks ``"sgd"``, or ``"torch"`` when a torch-only option is set.

    Parameters left as ``None`` take the engine's tuned default
    (:data:`ENGINE_DEFAULTS`). The SGD engine's rate falls geometrically to 8.8 % of its
    start by the last epoch (12 % per epoch over the default 20; slower for longer
    runs; :func:`sgd_schedule`).

    Args:
        embedding_dim: Width of ``p_u`` and ``q_i``. The default, 96, with strong L2
            and a tiny start is as accurate on MovieLens here as 512 dimensions
            (wide, well-regularized factorizations are, as Rendle et al. found) and
            fits about 15 times faster; 32 fits large data three times faster
            again for a little accuracy.
        user_bias: Learn ``b_u``.
        item_bias: Learn ``b_i``.
        global_bias: Use ``μ``.
        squash: ``None`` or ``(low, high)``: ``low + (high - low)·sigmoid(r̂)``.
        init: ``"normal"`` or ``"glorot_uniform"`` (the course's Keras default).
        init_std: Standard deviation of the normal initializer.
        l2_user: L2 strength on user vectors (the course: 1e-7 with ``l2_mode="table"``).
        l2_item: L2 strength on item vectors (the course: 1e-6 with ``l2_mode="table"``).
        l2_bias: L2 strength on both bias tables.
        bias_damping: ``β`` (``"sgd"`` and ``"spark"`` engines): an extra penalty
            ``β b²`` per user and per item (not per rating), so the biases of rarely
            rated rows shrink towards 0, as a damped mean ``Σ residuals / (n + β)``
            does (the ``"spark"`` engine computes exactly such means). This is
            what keeps movies with one five-star rating out of everyone's top 10 (the
            course's "obscure recommendations"): with the default 7, the share of items
            with fewer than 10 training ratings in the top 10 is 0.2 % on all of ML-100K
            and 3.9 % on ml-latest-small (23 % and 75 % with the same L2 and no
            damping), at the same RMSE. Default 7 with ``"sgd"``, 5 with ``"spark"``;
            the torch and ALS engines do not have it.
        l2_mode: ``"batch"`` (per occurrence; default) or ``"table"`` (Keras: whole
            tables every step; torch engine).
        optimizer: ``"adam"`` (lazy Adam), ``"adagrad"`` or ``"sgd"`` (torch engine).
        learning_rate: Step size.
        schedule: Learning-rate schedule of the torch engine (``"step"``,
            ``"exponential"``, ``"cosine"``).
        batch_size: Ratings per step (torch engine).
        epochs: Passes over the data (ALS engines: alternations; Spark: ``maxIter``).
        patience: Early stopping patience (needs validation data); the best epoch's
            weights are restored. Not with ``"spark"`` (one ALS fit).
        engine: ``"auto"``, ``"sgd"``, ``"torch"``, ``"als"`` or ``"spark"``.
        n_threads: Threads of the SGD and ALS engines (default: all cores; SGD: one
            per 250k ratings). With ``"spark"``, choose the master's cores instead.
        random_state: Seed: the same seed, data and settings give identical weights
            on the CPU (the SGD engine with one thread; several threads race).
        device: ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``.

    Example:
        >>> import embedlab as el
        >>> ds, truth = el.synthetic_ratings(200, 100, 5000, seed=0)
        >>> mf = el.MatrixFactorization(embedding_dim=8, epochs=5, random_state=0).fit(ds, progress=False)
        >>> mf.predict([1], [1]).shape
        (1,)
    """

    model_class = "MatrixFactorization"

    def __init__(
        self,
        embedding_dim: int = 96,
        *,
        user_bias: bool = True,
        item_bias: bool = True,
        global_bias: bool = True,
        squash: tuple[float, float] | None = None,
        init: str = "normal",
        init_std: float | None = None,
        l2_user: float | None = None,
        l2_item: float | None = None,
        l2_bias: float | None = None,
        bias_damping: float | None = None,
        l2_mode: str = "batch",
        optimizer: str | None = None,
        learning_rate: float | None = None,
        schedule: str | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        patience: int | None = None,
        engine: str = "auto",
        n_threads: int | None = None,
        random_state: int | None = None,
        device: str = "auto",
    ) -> None:
        self.embedding_dim = embedding_dim
        self.user_bias = user_bias
        self.item_bias = item_bias
        self.global_bias = global_bias
        self.squash = squash
        self.init = init
        self.init_std = init_std
        self.l2_user = l2_user
        self.l2_item = l2_item
        self.l2_bias = l2_bias
        self.bias_damping = bias_damping
        self.l2_mode = l2_mode
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.engine = engine
        self.n_threads = n_threads
        self.random_state = random_state
        self.device = device

    # ----------------------------------------------------------------- engines
    def _torch_only_options(self, checkpoint_dir: Any) -> list[str]:
        options = {
            "squash": self.squash is not None,
            "init": self.init != "normal",
            "optimizer": self.optimizer is not None,
            "schedule": self.schedule is not None,
            "l2_mode": self.l2_mode != "batch",
            "batch_size": self.batch_size is not None,
            "checkpoint_dir": checkpoint_dir is not None,
            "device": resolve_device(self.device).type != "cpu",
        }
        return [name for name, used in options.items() if used]

    def resolved_engine(self, checkpoint_dir: Any = None) -> str:
        """The engine :meth:`fit` uses with these settings (``"sgd"``, ``"torch"``,
        ``"als"`` or ``"spark"``).

        Raises:
            ValueError: For an unknown engine, or an engine other than ``"torch"``
                with an option only the torch engine has, or ``bias_damping`` with an
                engine that does not have it.
        """
        if self.engine not in ENGINES:
            raise ValueError(
                f"engine={self.engine!r}: expected one of {', '.join(map(repr, ENGINES))}"
            )
        torch_only = self._torch_only_options(checkpoint_dir)
        if self.engine in ("als", "spark") and self.device == "auto":
            torch_only = [name for name in torch_only if name != "device"]
        if self.engine in ("sgd", "als", "spark") and torch_only:
            raise ValueError(
                f"engine={self.engine!r} does not support {', '.join(torch_only)}; "
                "use engine='torch' (or 'auto')"
            )
        engine = ("torch" if torch_only else "sgd") if self.engine == "auto" else self.engine
        if engine in ("torch", "als") and self.bias_damping:
            because = (
                f" (because of {', '.join(torch_only)})"
                if torch_only and self.engine == "auto"
                else ""
            )
            raise ValueError(
                f"bias_damping={self.bias_damping!r} exists only in the 'sgd' and 'spark' engines, "
                f"but the {engine} engine would train this model{because}; drop bias_damping"
                + (" or those options" if because else " or pick engine='sgd'")
            )
        if engine == "spark":
            if self.n_threads is not None:
                raise ValueError(
                    f"n_threads={self.n_threads!r} does not apply to engine='spark'; "
                    "choose the Spark master's cores instead (spark_master='local[4]')"
                )
            if self.patience is not None:
                raise ValueError(
                    f"patience={self.patience!r}: engine='spark' trains all epochs in one "
                    "Spark ALS fit and cannot stop early; drop patience"
                )
        return engine

    def _setting(self, name: str, engine: str) -> Any:
        value = getattr(self, name)
        return ENGINE_DEFAULTS[engine].get(name) if value is None else value

    def _build_module(self, n_users: int, n_items: int, generator: torch.Generator) -> MFModule:
        engine = getattr(self, "_fit_engine", None) or self.resolved_engine()
        return MFModule(
            n_users,
            n_items,
            self.embedding_dim,
            user_bias=self.user_bias,
            item_bias=self.item_bias,
            global_bias=self.global_bias,
            squash=self.squash,
            init=self.init,
            init_std=self._setting("init_std", engine),
            generator=generator,
            # The compiled and Spark engines draw their own start and load the result.
            initialize=engine == "torch",
        )

    def _train(
        self, module, train, validation, *, checkpoint_dir, resume, callbacks, progress
    ) -> History:  # type: ignore[override]
        engine = self._fit_engine
        if engine == "torch":
            trainer = Trainer(
                epochs=self._setting("epochs", engine),
                batch_size=self._setting("batch_size", engine),
                learning_rate=self._setting("learning_rate", engine),
                optimizer=self._setting("optimizer", engine),
                schedule=self.schedule,
                l2_user=self._setting("l2_user", engine),
                l2_item=self._setting("l2_item", engine),
                l2_bias=self._setting("l2_bias", engine),
                l2_mode=self.l2_mode,
                patience=self.patience,
                callbacks=callbacks,
                progress=progress,
                random_state=self.random_state,
                device=self.device,
            )
            return trainer.fit(
                module, train, validation=validation, checkpoint_dir=checkpoint_dir, resume=resume
            )
        if resume:
            raise ValueError("resume=True needs checkpoint_dir= (the torch engine)")
        if engine == "spark":
            return self._train_spark(module, train, validation, callbacks, progress)
        from embedlab.training._cpu_mf import fit_mf_als, fit_mf_sgd

        # What both compiled engines take; SGD adds its step size and bias damping.
        common = {
            "embedding_dim": self.embedding_dim,
            "epochs": self._setting("epochs", engine),
            "l2_user": self._setting("l2_user", engine),
            "l2_item": self._setting("l2_item", engine),
            "l2_bias": self._setting("l2_bias", engine),
            "user_bias": self.user_bias,
            "item_bias": self.item_bias,
            "global_bias": self.global_bias,
            "init_std": self._setting("init_std", engine),
            "validation": validation,
            "patience": self.patience,
            "random_state": self.random_state,
            "n_threads": self.n_threads,
            "callbacks": callbacks,
            "progress": progress,
        }
        if engine == "als":
            params, records = fit_mf_als(*train, module.n_users, module.n_items, **common)
        else:
            params, records = fit_mf_sgd(
                *train,
                module.n_users,
                module.n_items,
                **sgd_schedule(self._setting("learning_rate", engine), common["epochs"]),
                bias_damping=self._setting("bias_damping", engine),
                **common,
            )
        _load_params(module, params)
        return History(records)

    def _train_spark(self, module, train, validation, callbacks, progress) -> History:
        import shutil

        from embedlab.training._spark import fit_mf_spark, frame_from_arrays, spark_session

        options = getattr(self, "_spark_options", None) or {}
        session = spark_session(
            options.get("spark"), master=options.get("spark_master"), conf=options.get("spark_conf")
        )
        frame, folder = getattr(self, "_spark_prepared", None), None
        if frame is None:
            frame, folder = frame_from_arrays(
                session, {"user_index": train[0], "item_index": train[1], "rating": train[2]}
            )
        try:
            params, records = fit_mf_spark(
                frame,
                module.n_users,
                module.n_items,
                embedding_dim=self.embedding_dim,
                epochs=self._setting("epochs", "spark"),
                l2_user=self._setting("l2_user", "spark"),
                l2_item=self._setting("l2_item", "spark"),
                l2_bias=self._setting("l2_bias", "spark"),
                bias_damping=self._setting("bias_damping", "spark"),
                user_bias=self.user_bias,
                item_bias=self.item_bias,
                global_mean=float(module.global_bias.detach()) if self.global_bias else None,
                train=train,
                validation=validation,
                random_state=self.random_state,
                spark=session,
                callbacks=callbacks,
                progress=progress,
            )
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        _load_params(module, params)
        return History(records)

    def _score_with_user(
        self, p: torch.Tensor, b: torch.Tensor | None, items: torch.Tensor
    ) -> torch.Tensor:
        m = self.module_
        return self._finish_scores((p * m.item_embedding(items)).sum(-1), b, items)

    def fit(self, dataset, **options: Any) -> MatrixFactorization:  # type: ignore[override]
        """Train on ``dataset``; see :meth:`EmbeddingModel.fit`. Returns ``self``.

        With ``engine="spark"`` three more options choose the Spark session (see
        :func:`embedlab.training.spark_session`): ``spark`` (a ``SparkSession``),
        ``spark_master`` (default ``$EMBEDLAB_SPARK_MASTER`` or ``local[*]``) and
        ``spark_conf`` (a dict of Spark settings for a new session).

        Raises:
            ValueError: As :meth:`EmbeddingModel.fit`, or Spark options with another
                engine.
        """
        spark_keys = ("spark", "spark_master", "spark_conf")
        spark_options = {k: options.pop(k) for k in spark_keys if k in options}
        self._fit_engine = self.resolved_engine(
            options.get("checkpoint_dir")
        )  # fails fast on a bad choice
        given = [k for k, v in spark_options.items() if v is not None]
        if given and self._fit_engine != "spark":
            engine, self._fit_engine = self._fit_engine, None
            raise ValueError(
                f"{', '.join(given)} only apply to engine='spark', but the {engine} engine "
                "would train this model; pass engine='spark'"
            )
        self._spark_options = spark_options
        try:
            super().fit(dataset, **options)
        finally:
            engine, self._fit_engine, self._spark_options = self._fit_engine, None, None
        self.engine_ = engine
        return self
