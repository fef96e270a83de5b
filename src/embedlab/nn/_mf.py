"""Matrix factorization as a torch module that knows only integer indices."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from embedlab.nn._init import check_init, init_embedding_
from embedlab.settings import Int

__all__ = ["MFModule", "add_bias_tables", "add_embedding_tables", "check_squash", "finish_scores"]


def check_squash(squash: Any) -> tuple[float, float] | None:
    """Validate ``squash``: ``None`` or ``(low, high)`` with ``low < high``."""
    if squash is None:
        return None
    try:
        low, high = (float(v) for v in squash)
    except (TypeError, ValueError):
        raise ValueError(f"squash={squash!r}: expected None or (low, high), e.g. (1, 5)") from None
    if not low < high:
        raise ValueError(f"squash={squash!r}: expected low < high")
    return low, high


def _check_count(name: str, value: Any, low: int = 1) -> int:
    return Int(low)(name, value)


def _apply_squash(raw: torch.Tensor, squash: tuple[float, float] | None) -> torch.Tensor:
    if squash is None:
        return raw
    low, high = squash
    return low + (high - low) * torch.sigmoid(raw)


def add_embedding_tables(
    module: nn.Module,
    user_dim: int,
    item_dim: int,
    init: str,
    init_std: float,
    squash: Any,
    sparse: bool,
    generator: torch.Generator | None,
    initialize: bool = True,
) -> None:
    """Validate the shared options and create ``user_embedding`` and ``item_embedding``.

    The user table draws its initial values from ``generator`` before the item table;
    ``initialize=False`` leaves both uninitialized (for callers that load weights next).
    """
    check_init(init, init_std)
    module.squash = check_squash(squash)
    module.init = init
    module.init_std = float(init_std)
    module.sparse = bool(sparse)
    # ``_weight``: skip nn.Embedding's own N(0, 1) fill, which init_embedding_ overwrites.
    module.user_embedding = nn.Embedding(
        module.n_users,
        user_dim,
        sparse=module.sparse,
        _weight=torch.empty(module.n_users, user_dim),
    )
    module.item_embedding = nn.Embedding(
        module.n_items,
        item_dim,
        sparse=module.sparse,
        _weight=torch.empty(module.n_items, item_dim),
    )
    if initialize:
        init_embedding_(module.user_embedding.weight, init, init_std, generator)
        init_embedding_(module.item_embedding.weight, init, init_std, generator)


def add_bias_tables(module: nn.Module, user_bias: bool, item_bias: bool, global_bias: bool) -> None:
    """Create the one-column bias tables and ``μ`` (each optional), all zero."""
    module.user_bias = (
        nn.Embedding(
            module.n_users, 1, sparse=module.sparse, _weight=torch.empty(module.n_users, 1)
        )
        if user_bias
        else None
    )
    module.item_bias = (
        nn.Embedding(
            module.n_items, 1, sparse=module.sparse, _weight=torch.empty(module.n_items, 1)
        )
        if item_bias
        else None
    )
    for table in (module.user_bias, module.item_bias):
        if table is not None:
            nn.init.zeros_(table.weight)
    module.global_bias = nn.Parameter(torch.zeros(())) if global_bias else None


def finish_scores(
    module: nn.Module,
    raw: torch.Tensor,
    users: torch.Tensor,
    items: torch.Tensor,
    rows: dict[str, torch.Tensor],
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Add the module's user and item biases and ``μ`` to ``raw``, then squash.

    The bias rows looked up are added to ``rows`` (for the per-batch L2 penalty).
    """
    if module.user_bias is not None:
        bu = module.user_bias(users).squeeze(-1)
        raw = raw + bu
        rows["user_bias"] = bu
    if module.item_bias is not None:
        bi = module.item_bias(items).squeeze(-1)
        raw = raw + bi
        rows["item_bias"] = bi
    if module.global_bias is not None:
        raw = raw + module.global_bias
    return _apply_squash(raw, module.squash), rows


class MFModule(nn.Module):
    """Biased matrix factorization: ``r̂(u, i) = μ + b_u + b_i + p_u · q_i``.

    ``p_u`` is row ``u`` of ``user_embedding.weight`` and ``q_i`` row ``i`` of
    ``item_embedding.weight`` (both ``embedding_dim`` wide: the dot product needs
    equal widths); ``b_u``, ``b_i`` are the one-column tables ``user_bias`` and
    ``item_bias``; ``μ`` is the scalar ``global_bias``. Each of the three bias terms
    can be switched off (all off is the plain dot-product model). With
    ``squash=(low, high)`` the output is ``low + (high - low) · sigmoid(r̂)``.

    Embeddings start from ``init`` (``"normal"``: ``N(0, init_std²)``;
    ``"glorot_uniform"``: Keras' ``GlorotUniform``), biases and ``μ`` at zero: the
    caller (the estimator) sets ``μ`` to the training mean.

    Args:
        n_users: Rows of the user tables.
        n_items: Rows of the item tables.
        embedding_dim: Width of both embedding tables. A pair ``(user_dim, item_dim)``
            is accepted only when both are equal.
        user_bias: Learn ``b_u``.
        item_bias: Learn ``b_i``.
        global_bias: Learn ``μ``.
        squash: ``None`` or ``(low, high)``.
        init: ``"normal"`` or ``"glorot_uniform"``.
        init_std: Standard deviation of the normal initializer.
        sparse: Tables produce sparse gradients (``nn.Embedding(sparse=True)``), so
            optimizers can update only the rows a batch touches.
        generator: The ``torch.Generator`` initial values are drawn from (never the
            global seed).
        initialize: ``False`` leaves the embedding tables uninitialized, for callers
            that load trained weights into them next (the compiled engines).

    Raises:
        ValueError: For a bad size, initializer or squash range, or unequal user
            and item widths.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        embedding_dim: int | tuple[int, int] = 32,
        *,
        user_bias: bool = True,
        item_bias: bool = True,
        global_bias: bool = True,
        squash: tuple[float, float] | None = None,
        init: str = "normal",
        init_std: float = 0.1,
        sparse: bool = True,
        generator: torch.Generator | None = None,
        initialize: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(embedding_dim, (tuple, list)):
            dims = [_check_count("embedding_dim", d) for d in embedding_dim]
            if len(dims) != 2 or dims[0] != dims[1]:
                raise ValueError(
                    f"embedding_dim={tuple(embedding_dim)!r}: matrix factorization scores with the dot "
                    "product p_u·q_i, so the user and item tables need the same width; pass one integer "
                    "(the neural model allows different widths)"
                )
            embedding_dim = dims[0]
        self.n_users = _check_count("n_users", n_users)
        self.n_items = _check_count("n_items", n_items)
        self.embedding_dim = _check_count("embedding_dim", embedding_dim)
        add_embedding_tables(
            self,
            self.embedding_dim,
            self.embedding_dim,
            init,
            init_std,
            squash,
            sparse,
            generator,
            initialize,
        )
        add_bias_tables(self, user_bias, item_bias, global_bias)
        #: False: score with the biases alone (the dot product counts as 0), the
        #: estimator's fallback when the factors did not beat the biases-only model.
        self.use_factors = True

    def forward_rows(
        self, users: torch.Tensor, items: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Scores and the table rows they used (for a per-batch L2 penalty).

        Returns:
            ``(scores[B], rows)`` where ``rows`` maps ``"user"``, ``"item"`` and, when
            present, ``"user_bias"``, ``"item_bias"`` to the looked-up rows.
        """
        p = self.user_embedding(users)
        q = self.item_embedding(items)
        raw = (p * q).sum(dim=-1)
        if not self.use_factors:
            raw = torch.zeros_like(raw)
        return finish_scores(self, raw, users, items, {"user": p, "item": q})

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Predicted ratings for index pairs: ``users``, ``items`` are ``LongTensor[B]``."""
        return self.forward_rows(users, items)[0]

    def extra_repr(self) -> str:
        return f"n_users={self.n_users}, n_items={self.n_items}, embedding_dim={self.embedding_dim}, squash={self.squash}"
