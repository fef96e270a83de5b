"""The threading policy (:mod:`embedlab._threads`): CPUs available, the user's choice, and
what a fit records. Nothing here times anything."""

from __future__ import annotations

import os

import numpy as np
import pytest

from embedlab import _threads
from embedlab._threads import (
    THREADS_ENV,
    available_cpus,
    cgroup_cpu_limit,
    default_threads,
    other_runnable,
    parallel_section,
    resolve_threads,
)
from embedlab.exceptions import SettingsError


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)


def _write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ------------------------------------------------------------------------ cgroups
@pytest.mark.parametrize(
    ("text", "expected"),
    [("150000 100000\n", 1.5), ("max 100000\n", None), ("200000 100000", 2.0), ("junk", None)],
)
def test_cgroup_v2_cpu_max(tmp_path, text, expected):
    _write(tmp_path, "cpu.max", text)
    assert cgroup_cpu_limit(tmp_path) == expected


@pytest.mark.parametrize(
    ("quota", "period", "expected"), [("50000", "100000", 0.5), ("-1", "100000", None)]
)
def test_cgroup_v1_quota(tmp_path, quota, period, expected):
    _write(tmp_path, "cpu/cpu.cfs_quota_us", quota)
    _write(tmp_path, "cpu/cpu.cfs_period_us", period)
    assert cgroup_cpu_limit(tmp_path) == expected


def test_no_cgroup_files_means_no_limit(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None


def test_available_cpus_takes_the_smallest(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert available_cpus(tmp_path) == 4  # no quota: the affinity mask
    _write(tmp_path, "cpu.max", "150000 100000")
    assert available_cpus(tmp_path) == 2  # a 1.5-CPU quota rounds up
    _write(tmp_path, "cpu.max", "10000 100000")
    assert available_cpus(tmp_path) == 1  # never 0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    _write(tmp_path, "cpu.max", "max 100000")
    assert available_cpus(tmp_path) == 1  # the affinity mask


def test_default_root_is_monkeypatchable(tmp_path, monkeypatch, no_env):
    monkeypatch.setattr(_threads, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    _write(tmp_path, "cpu.max", "100000 100000")
    assert available_cpus() == 1
    assert default_threads() == 1


# ------------------------------------------------------------------ user's choice
def test_env_var_sets_the_default(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, " 3 ")
    assert default_threads() == 3
    assert resolve_threads(None) == 3
    assert resolve_threads(5) == 5  # a call's own n_threads wins


def test_numba_pool_size_caps_the_default(monkeypatch, no_env):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("NUMBA_NUM_THREADS", "junk")
    assert default_threads() == available_cpus()


def test_empty_env_var_is_unset(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "")
    assert default_threads() == available_cpus()


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_bad_env_var_is_a_one_line_error(monkeypatch, bad):
    monkeypatch.setenv(THREADS_ENV, bad)
    with pytest.raises(SettingsError, match=THREADS_ENV) as info:
        default_threads()
    assert "\n" not in str(info.value)
    assert repr(bad) in str(info.value)


def test_settings_use_the_policy(monkeypatch):
    from embedlab.settings import _models

    monkeypatch.setenv(THREADS_ENV, "1")
    assert _models._cpus() == 1


# ------------------------------------------------------------ parallel sections
def test_parallel_section_limits_and_restores(no_env):
    numba = pytest.importorskip("numba")
    torch = pytest.importorskip("torch")
    numba_before, torch_before = numba.get_num_threads(), torch.get_num_threads()
    with parallel_section(1) as n:
        assert n == 1
        assert numba.get_num_threads() == 1
        assert torch.get_num_threads() == 1  # no torch pool inside numba's regions
        from threadpoolctl import threadpool_info

        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert numba.get_num_threads() == numba_before
    assert torch.get_num_threads() == torch_before
    with parallel_section(10_000) as n:  # at most numba's pool
        assert n == numba.config.NUMBA_NUM_THREADS


# ------------------------------------------------------------- fits record it
def _small():
    import embedlab as el

    inter, _ = el.synthetic_ratings(60, 40, 1_500, random_state=0)
    return inter


def test_mf_records_the_resolved_threads(monkeypatch, tmp_path):
    import embedlab as el

    monkeypatch.setenv(THREADS_ENV, "1")
    model = el.MatrixFactorization(engine="als", embedding_dim=4, epochs=2, random_state=0).fit(
        _small()
    )
    assert model.settings_.n_threads == 1
    model.save(tmp_path / "mf")
    again = el.load(tmp_path / "mf")
    assert again.settings_.n_threads == 1


def test_neural_records_a_number(monkeypatch):
    import embedlab as el

    monkeypatch.delenv(THREADS_ENV, raising=False)
    model = el.NeuralEmbeddingModel(
        embedding_dim=4, hidden=(4,), epochs=1, pretrain="none", random_state=0
    ).fit(_small())
    assert isinstance(model.settings_.n_threads, int)
    assert model.settings_.n_threads >= 1


def test_als_result_does_not_depend_on_threads(monkeypatch):
    import embedlab as el

    inter = _small()
    fits = []
    for n in ("1", "2"):
        monkeypatch.setenv(THREADS_ENV, n)
        model = el.MatrixFactorization(engine="als", embedding_dim=4, epochs=3, random_state=0).fit(
            inter
        )
        fits.append(
            np.concatenate([t.numpy().ravel() for t in model.module_.state_dict().values()])
        )
    np.testing.assert_allclose(fits[0], fits[1], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------- other programs' threads
def _task(root, tid, state):
    _write(root, f"task/{tid}/stat", f"{tid} (python worker) {state} 1 2 3")


def test_other_runnable_counts_other_programs(tmp_path):
    _write(tmp_path, "loadavg", "3.01 4.06 3.64 5/117 24714\n")
    _task(tmp_path, 1, "R")
    _task(tmp_path, 2, "S")
    _task(tmp_path, 3, "R")
    got = other_runnable(3, loadavg=tmp_path / "loadavg", tasks=tmp_path / "task")
    assert got == 3  # 5 runnable, 2 of them this process's


def test_other_runnable_without_proc(tmp_path):
    assert other_runnable(loadavg=tmp_path / "missing", tasks=tmp_path) == 0
    _write(tmp_path, "loadavg", "garbage")
    assert other_runnable(loadavg=tmp_path / "loadavg", tasks=tmp_path) == 0


def test_adapted_section_leaves_busy_cpus_out(monkeypatch, no_env):
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs numba's pool of 2 threads or more")
    monkeypatch.setattr(_threads, "available_cpus", lambda root=None: 2)
    monkeypatch.setattr(_threads, "other_runnable", lambda samples=5: 2)
    with parallel_section(2, adapt=True) as n:
        assert n == 1
    with parallel_section(2) as n:  # without adapt: the count asked for
        assert n == 2
    monkeypatch.setattr(_threads, "other_runnable", lambda samples=5: 0)
    with parallel_section(2, adapt=True) as n:
        assert n == 2


def test_compiled_neural_result_does_not_depend_on_threads(monkeypatch):
    import embedlab as el

    inter = _small()
    fits = []
    for n in ("1", "2"):
        monkeypatch.setenv(THREADS_ENV, n)
        model = el.NeuralEmbeddingModel(
            embedding_dim=4, hidden=(4,), epochs=2, pretrain="none", random_state=0
        ).fit(inter)
        assert model.settings_.engine == "compiled"
        assert model.settings_.n_threads == int(n)
        fits.append(
            np.concatenate([t.numpy().ravel() for t in model.module_.state_dict().values()])
        )
    np.testing.assert_allclose(fits[0], fits[1], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ OpenMP waits
def test_configure_runtime_sets_a_spin_default_only():
    env: dict[str, str] = {}
    _threads.configure_runtime(env)
    assert env == {"GOMP_SPINCOUNT": _threads.SPINCOUNT}
    chosen = {"GOMP_SPINCOUNT": "0"}
    _threads.configure_runtime(chosen)
    assert chosen == {"GOMP_SPINCOUNT": "0"}  # the user's choice stays
    passive = {"OMP_WAIT_POLICY": "passive"}
    _threads.configure_runtime(passive)
    assert passive == {"OMP_WAIT_POLICY": "passive"}  # no spin count beside a policy


def test_importing_embedlab_sets_it_before_torch():
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ.pop('GOMP_SPINCOUNT', None); "
        "os.environ.pop('OMP_WAIT_POLICY', None); import embedlab; "
        "print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [_threads.SPINCOUNT, "False"]
