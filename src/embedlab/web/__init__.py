"""Web explorer: a JSON API and one page over a trained model (``embedlab serve``).

Example:
    >>> from embedlab.web import create_app  # doctest: +SKIP
    >>> app = create_app("runs/mf32")        # doctest: +SKIP
"""

from embedlab.web._app import (
    DEFAULT_MAX_BODY_BYTES,
    SERVE_CONFIG_ENV,
    app_from_env,
    create_app,
    limit_threads,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SERVE_CONFIG_ENV",
    "app_from_env",
    "create_app",
    "limit_threads",
]
