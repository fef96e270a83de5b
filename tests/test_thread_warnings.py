"""No thread-pool warning on any command's output (issue 20).

OpenBLAS prints "Detect OpenMP Loop and this application may hang" when it is called from
inside an OpenMP parallel region with its own pool threaded; the explorer's map thread
printed 49 of them. Each path below runs in a fresh process, as a user runs it, and its
stderr must hold no OpenBLAS or OpenMP message.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

WARNINGS = ("OpenBLAS", "Detect OpenMP Loop", "OMP:", "libgomp", "KMP_")

SCRIPT = textwrap.dedent(
    """
    import warnings
    import embedlab as el
    from embedlab.web import create_app

    warnings.simplefilter("ignore", el.DataWarning)
    ds, _ = el.synthetic_ratings(300, 400, 20000, random_state=0)
    mf = el.MatrixFactorization(random_state=0).fit(ds, progress=False)
    el.NeuralEmbeddingModel(epochs=2, random_state=0).fit(ds, progress=False)
    el.viz.project(mf, "tsne")
    mf.recommend_batch(list(mf.users_.ids()[:50]), n=10)
    app = create_app(mf, map_method="tsne")
    assert app.state.explorer.wait_map(120)
    print("done")
    """
)


@pytest.mark.timeout(300)
def test_a_fit_a_map_and_the_explorer_print_no_thread_pool_warning() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False, timeout=280
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("done")
    found = [line for line in done.stderr.splitlines() if any(w in line for w in WARNINGS)]
    assert found == [], f"{len(found)} thread-pool warnings, first: {found[:3]}"


@pytest.mark.timeout(300)
def test_the_map_command_prints_no_thread_pool_warning(tmp_path) -> None:
    import embedlab as el

    ds, _ = el.synthetic_ratings(200, 300, 8000, random_state=1)
    data = tmp_path / "r.csv"
    ds.to_pandas().to_csv(data, index=False)
    out = tmp_path / "mf"
    base = [sys.executable, "-m", "embedlab"]
    for args in (
        ["train", str(data), "--out", str(out), "-q"],
        ["map", str(out), "--out", str(tmp_path / "map.png")],
    ):
        done = subprocess.run([*base, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        found = [line for line in done.stderr.splitlines() if any(w in line for w in WARNINGS)]
        assert found == [], f"{args[0]}: {found[:3]}"
