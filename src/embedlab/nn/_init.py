"""Initializers for embedding tables and dense layers, drawn from a caller's generator."""

from __future__ import annotations

import math

import torch

from embedlab.settings import Choice, Real

__all__ = ["INITIALIZERS", "check_init", "glorot_uniform_", "init_embedding_"]

#: Initializer names an embedding table accepts.
INITIALIZERS = ("normal", "glorot_uniform")


def check_init(init: str, init_std: float) -> None:
    """Raise ``ValueError`` for an unknown initializer or a bad ``init_std``."""
    Choice(INITIALIZERS)("init", init)
    Real(0, strict=True)("init_std", init_std)


def glorot_uniform_(weight: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a 2-D ``weight`` in place with Keras' ``GlorotUniform`` draws.

    ``U(-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))``, where, as in
    Keras' ``compute_fans`` for a 2-D shape, ``fan_in = shape[0]`` and
    ``fan_out = shape[1]``. For an embedding table ``[n_rows, dim]`` that is
    ``fan_in = n_rows`` (Keras' ``Embedding`` stores ``[input_dim, output_dim]``);
    for a torch ``Linear`` weight ``[out, in]`` the two swap, which leaves the sum
    and so the limit unchanged.
    """
    if weight.dim() != 2:
        raise ValueError(f"glorot_uniform_ expects a 2-D tensor, got shape {tuple(weight.shape)}")
    limit = math.sqrt(6.0 / (weight.shape[0] + weight.shape[1]))
    with torch.no_grad():
        draw = torch.empty(weight.shape, dtype=weight.dtype).uniform_(
            -limit, limit, generator=generator
        )
        weight.copy_(draw)
    return weight


def init_embedding_(
    weight: torch.Tensor, init: str, init_std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Fill an embedding table in place: ``"normal"`` is ``N(0, init_std²)``, ``"glorot_uniform"`` as above.

    Draws happen on the CPU from ``generator`` (``None``: torch's default generator,
    which is used but never seeded here), so a seed gives the same table on any device.
    """
    check_init(init, init_std)
    if init == "glorot_uniform":
        return glorot_uniform_(weight, generator)
    with torch.no_grad():
        draw = torch.empty(weight.shape, dtype=weight.dtype).normal_(
            0.0, init_std, generator=generator
        )
        weight.copy_(draw)
    return weight
