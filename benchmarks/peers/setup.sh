#!/usr/bin/env bash
# Creates benchmarks/peers/.venv: the peers' own virtual environment (Surprise, LensKit,
# TensorFlow + Keras 3, implicit), kept apart from embedlab's pinned torch.
# Usage: bash benchmarks/peers/setup.sh            (re-running is safe; a failed peer is
#        reported and skipped, the others still install)
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --upgrade pip setuptools wheel >/dev/null
status=0

echo "== tensorflow + keras (Keras 3, TF backend)"
$PIP install tensorflow keras || { echo "!! tensorflow/keras failed"; status=1; }

echo "== lenskit"
# LensKit 2025.x depends on torch; pin the torch embedlab uses (a local wheel here) so the
# venv does not pull another multi-GB build.
$PIP install "torch==2.13.0"
$PIP install lenskit "torch==2.13.0" || { echo "!! lenskit failed"; status=1; }

echo "== scikit-surprise"
# Surprise builds a Cython extension from source; older releases need numpy<2.
if ! $PIP install scikit-surprise; then
  echo "   retrying with numpy<2 and no build isolation"
  $PIP install "numpy<2" cython && \
  $PIP install --no-build-isolation scikit-surprise || { echo "!! scikit-surprise failed"; status=1; }
fi

echo "== implicit (ALS, BPR; CPU wheel)"
$PIP install implicit threadpoolctl || { echo "!! implicit failed"; status=1; }

$VENV/bin/python - <<'PY'
import importlib
for name in ["surprise", "lenskit", "tensorflow", "keras", "implicit", "torch", "numpy", "pandas"]:
    try:
        m = importlib.import_module(name)
        print(f"{name:12s} {getattr(m, '__version__', '?')}")
    except Exception as e:
        print(f"{name:12s} NOT AVAILABLE ({type(e).__name__}: {e})")
PY
exit $status
