"""The entity-embedding network of :class:`~embedlab.EmbeddingEncoder` on integer codes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["TabularModule"]


class TabularModule(nn.Module):
    """Integer codes (one column per categorical column) [+ numbers] -> outputs.

    Each categorical column has its own embedding table (``embeddings.<j>.weight``);
    the concatenated vectors of a row, followed by its numeric columns, go through
    ``hidden`` ReLU layers to ``n_out`` outputs (``mlp.<k>.*``). The module knows
    nothing of category values: the encoder maps them to codes.

    Args:
        sizes: Rows of each column's table.
        dims: Width of each column's table.
        n_numeric: Number of numeric columns appended to the embeddings.
        hidden: Widths of the hidden layers (``()``: a linear head).
        n_out: Outputs (1 for regression, one logit per class otherwise).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        dims: Sequence[int],
        n_numeric: int,
        hidden: Sequence[int],
        n_out: int,
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(n, d) for n, d in zip(sizes, dims, strict=True)
        )
        layers: list[nn.Module] = []
        width = int(sum(dims)) + n_numeric
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, n_out))
        self.mlp = nn.Sequential(*layers)

    def reset(self, generator: torch.Generator) -> None:
        """Draw every parameter from ``generator``: N(0, 0.05) tables, uniform ±1/√fan_in weights."""
        for emb in self.embeddings:
            nn.init.normal_(emb.weight, std=0.05, generator=generator)
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / max(layer.in_features, 1) ** 0.5
                nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                nn.init.zeros_(layer.bias)

    def forward(self, codes: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [emb(codes[:, j]) for j, emb in enumerate(self.embeddings)]
        if numeric.shape[1]:
            parts.append(numeric)
        return self.mlp(torch.cat(parts, dim=1))
