"""Atomic writes: readers never see half a file."""

from __future__ import annotations

import pytest

from embedlab._io import atomic_path, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path) -> None:
    target = tmp_path / "sub" / "f.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_failure_leaves_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash in the middle")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
