"""MatrixFactorization: the estimator for ``r̂ = μ + b_u + b_i + p_u·q_i``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from embedlab.exceptions import SettingsError
from embedlab.models._base import EmbeddingModel
from embedlab.nn import MFModule
from embedlab.settings import MF_ENGINES, MFSettings, resolve_mf
from embedlab.training import History
from embedlab.training.engines import get_engine

__all__ = ["MatrixFactorization"]

#: Engines :class:`MatrixFactorization` accepts.
ENGINES = MF_ENGINES

_SPARK_OPTIONS = ("spark", "spark_master", "spark_conf", "spark_frame")


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
      itself use :func:`embedlab.models.fit_spark_als`. One history record.

    ``engine="auto"`` picks ``"sgd"``, or ``"torch"`` when a torch-only option is set.

    Parameters left as ``None`` take the engine's tuned default
    (:data:`embedlab.settings.ENGINE_DEFAULTS`). The SGD engine's rate falls geometrically to 8.8 % of its
    start by the last epoch (12 % per epoch over the default 20; slower for longer
    runs; :func:`embedlab.training.engines.sgd_schedule`).

    On the engines' own defaults: ``embedding_dim=96`` with strong L2 and a tiny
    start is as accurate on MovieLens here as 512 dimensions (wide, well-regularized
    factorizations are, as Rendle et al. found) and fits about 15 times faster; 32
    fits large data three times faster again for a little accuracy. ``bias_damping``
    (``β``, ``"sgd"`` and ``"spark"``) adds ``β b²`` per user and per item (not per
    rating), so the biases of rarely rated rows shrink towards 0 as a damped mean
    ``Σ residuals / (n + β)`` does: this is what keeps movies with one five-star rating
    out of everyone's top 10 (the course's "obscure recommendations"): with the
    default 7, the share of items with fewer than 10 training ratings in the top 10 is
    0.2 % on all of ML-100K and 3.9 % on ml-latest-small (23 % and 75 % with the same
    L2 and no damping), at the same RMSE. ``random_state``: the same seed, data and
    settings give identical weights on the CPU (the SGD engine with one thread;
    several threads race).

    {settings_args}

    Example:
        >>> import embedlab as el
        >>> ds, truth = el.synthetic_ratings(200, 100, 5000, random_state=0)
        >>> mf = el.MatrixFactorization(embedding_dim=8, epochs=5, random_state=0).fit(ds, progress=False)
        >>> mf.predict([1], [1]).shape
        (1,)
    """

    model_class = "MatrixFactorization"
    settings_class = MFSettings

    # ----------------------------------------------------------------- engines
    def resolved_engine(self, checkpoint_dir: Any = None) -> str:
        """The engine :meth:`fit` uses with these settings (``"sgd"``, ``"torch"``,
        ``"als"`` or ``"spark"``).

        Raises:
            SettingsError: For an unknown engine, or an engine other than ``"torch"``
                with an option only the torch engine has, or ``bias_damping`` with an
                engine that does not have it.
        """
        from embedlab.settings import mf_engine

        return mf_engine(
            self.get_settings(),
            cuda=torch.cuda.is_available(),
            checkpoint=checkpoint_dir is not None,
        )

    def _resolve(
        self,
        settings: MFSettings,
        n_ratings: int,
        seed: int,
        checkpoint: bool,
        holdout: bool = False,
    ) -> MFSettings:
        return resolve_mf(
            settings,
            n_ratings=n_ratings,
            random_state=seed,
            cuda=torch.cuda.is_available(),
            checkpoint=checkpoint,
            holdout=holdout,
        )

    def _build_module(
        self, settings: MFSettings, n_users: int, n_items: int, generator: torch.Generator
    ) -> MFModule:
        return MFModule(
            n_users,
            n_items,
            settings.embedding_dim,
            user_bias=settings.user_bias,
            item_bias=settings.item_bias,
            global_bias=settings.global_bias,
            squash=settings.squash or None,
            init=settings.init,
            # a placeholder where the start comes from an engine or a bundle
            init_std=settings.init_std or 0.01,
            generator=generator,
            # The compiled and Spark engines draw their own start and load the result.
            initialize=settings.engine == "torch",
        )

    def _train(
        self, module, settings, data, *, checkpoint_dir, resume, callbacks, progress, options
    ) -> History:  # type: ignore[override]
        engine = settings.engine
        given = [k for k, v in options.items() if v is not None]
        if given and engine != "spark":
            raise SettingsError(
                f"{', '.join(given)} only apply to engine='spark', but the {engine} engine "
                "would train this model; pass engine='spark'"
            )
        if engine == "torch":
            self.adaptive_ = None
            result = get_engine(engine).fit(
                data,
                settings,
                module=module,
                callbacks=callbacks,
                progress=progress,
                checkpoint_dir=checkpoint_dir,
                resume=resume,
            )
            return result.history
        if resume:
            raise SettingsError("resume=True needs checkpoint_dir= (the torch engine)")
        spark = {("frame" if k == "spark_frame" else k): v for k, v in options.items()}
        if engine == "sgd":
            spark.update(self._adaptive_options(settings, data))
        result = get_engine(engine).fit(
            data, settings, callbacks=callbacks, progress=progress, **spark
        )
        _load_params(module, result.tables)
        self.adaptive_ = result.details.get("adaptive")
        if self.adaptive_ is not None and not self.adaptive_["skipped"]:
            self._report_adaptive(module)
        return result.history

    def _adaptive_options(self, settings: MFSettings, data: Any) -> dict[str, Any]:
        """The SGD engine's options for the held-out slice: the settings it may tune
        (those left to the engine) and the rating scale it scores on."""
        if data.validation is not None or not settings.holdout:
            return {}
        given = self.get_settings()
        r = data.train[2]
        return {
            "tunable": tuple(
                name for name in ("epochs", "l2_user", "l2_item") if getattr(given, name) is None
            ),
            "clip": (float(r.min()), float(r.max())) if settings.clip and len(r) else None,
        }

    def _report_adaptive(self, module: MFModule) -> None:
        """Record what the held-out slice chose; warn when the factors lost."""
        import warnings

        from embedlab.exceptions import BiasesOnlyWarning

        a = self.adaptive_
        chosen = a["chosen"]
        self.settings_ = self.settings_.replace(
            epochs=int(chosen["epochs"]),
            l2_user=float(chosen["l2_user"]),
            l2_item=float(chosen["l2_item"]),
        )
        if not a["factors_used"]:
            module.use_factors = False
            warnings.warn(
                f"the factors do not beat the biases-only model on {a['holdout']} held-out "
                f"ratings (RMSE {a['factors_rmse']:.4f} with factors, "
                f"{a['biases_rmse']:.4f} without): predicting with the biases only; "
                "more data or fallback=False keeps the factors",
                BiasesOnlyWarning,
                stacklevel=5,
            )

    def _score_with_user(
        self, p: torch.Tensor, b: torch.Tensor | None, items: torch.Tensor
    ) -> torch.Tensor:
        m = self.module_
        raw = (p * m.item_embedding(items)).sum(-1)
        return self._finish_scores(raw if m.use_factors else raw * 0.0, b, items)

    def _model_state(self) -> dict[str, Any]:
        adaptive = getattr(self, "adaptive_", None)
        return {"adaptive": adaptive} if adaptive else {}

    @classmethod
    def _from_bundle(cls, bundle: Any) -> MatrixFactorization:
        model = super()._from_bundle(bundle)
        adaptive = bundle.config.get("adaptive")
        model.adaptive_ = adaptive if isinstance(adaptive, dict) else None
        if model.adaptive_ is not None and model.adaptive_.get("factors_used") is False:
            model.module_.use_factors = False
        return model  # type: ignore[return-value]

    def fit(self, dataset, **options: Any) -> MatrixFactorization:  # type: ignore[override]
        """Train on ``dataset``; see :meth:`EmbeddingModel.fit`. Returns ``self``.

        With ``engine="spark"`` three more options choose the Spark session (see
        :func:`embedlab.training.spark_session`): ``spark`` (a ``SparkSession``),
        ``spark_master`` (default ``$EMBEDLAB_SPARK_MASTER`` or ``local[*]``) and
        ``spark_conf`` (a dict of Spark settings for a new session).

        Raises:
            SettingsError: As :meth:`EmbeddingModel.fit`, or Spark options with another
                engine.
        """
        unknown = [k for k in options if k.startswith("spark") and k not in _SPARK_OPTIONS]
        if unknown:
            raise TypeError(f"fit() got an unexpected keyword argument {unknown[0]!r}")
        super().fit(dataset, **options)
        return self
