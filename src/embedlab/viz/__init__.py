"""Pictures of embeddings: 2-D projections, maps (PNG/SVG and interactive HTML), plots.

Works on vectors from anywhere: a :class:`~embedlab.KeyedEmbeddings`, a fitted model or a
plain ``(array, keys)`` pair. Needs the ``viz`` extra (openTSNE, scikit-learn,
matplotlib, plotly); UMAP also needs ``umap-learn``. Nothing here calls
``matplotlib.pyplot``: figures are drawn off-screen and written with ``.save(path)``.

Example:
    >>> import embedlab as el
    >>> m = el.viz.embedding_map(model.item_embeddings(), method="tsne", color="genre")  # doctest: +SKIP
    >>> m.save("map.html"); m.save("map.png")  # doctest: +SKIP
"""

from embedlab.viz._figure import Plot
from embedlab.viz._maps import EmbeddingMap, embedding_map
from embedlab.viz._plots import (
    bias_plot,
    l2_sweep_plot,
    learning_curves,
    obscurity_plot,
    size_sweep_plot,
    sweep_plot,
)
from embedlab.viz._project import METHODS, TSNE_DEFAULT_MAX, default_method, project

__all__ = [
    "METHODS",
    "TSNE_DEFAULT_MAX",
    "EmbeddingMap",
    "Plot",
    "bias_plot",
    "default_method",
    "embedding_map",
    "l2_sweep_plot",
    "learning_curves",
    "obscurity_plot",
    "project",
    "size_sweep_plot",
    "sweep_plot",
]
