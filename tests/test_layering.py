"""Layering: import-linter's contract in pyproject.toml, and no private names across packages.

The contract (``[tool.importlinter]``) is checked on the real import graph (grimp): imports
inside functions and under ``TYPE_CHECKING`` count. ``importlib.import_module("embedlab.x")``
is invisible to it, so only the package root may import that way, and what the root loads
lazily it also imports under ``TYPE_CHECKING`` (so the graph has those edges).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "embedlab"
PYPROJECT = ROOT / "pyproject.toml"

#: Shared by every layer by design: their names may be imported from anywhere.
FOUNDATION = {"_version", "_config", "_io", "_ann", "_ann_kernels", "_threads"}

_LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _lint(
    config: Path, *, cwd: Path, pythonpath: Path | None = None
) -> subprocess.CompletedProcess:
    """``lint-imports`` on ``config``; grimp finds ``embedlab`` on ``pythonpath`` first."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", _LINT, "--no-cache", "--no-logo", str(config)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_layers_contract_is_kept() -> None:
    result = _lint(PYPROJECT, cwd=ROOT)
    out = result.stdout + result.stderr
    assert result.returncode == 0, f"lint-imports found a broken layer contract:\n{out}"
    assert "1 kept, 0 broken" in out, out


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "embedlab"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    vocab = copy / "data" / "_vocab.py"
    text = vocab.read_text(encoding="utf-8")
    future = "from __future__ import annotations\n"
    assert future in text
    vocab.write_text(
        text.replace(future, future + "\nfrom embedlab.cli import app  # noqa: F401\n", 1),
        encoding="utf-8",
    )
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")

    result = _lint(tmp_path / "pyproject.toml", cwd=tmp_path, pythonpath=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "0 kept, 1 broken" in out, out
    assert "embedlab.data is not allowed to import embedlab.cli" in out, out
    assert re.search(r"embedlab\.data\._vocab -> embedlab\.cli \(l\.\d+\)", out), out


# ------------------------------------------------------------------ private names
def _package_of(path: Path) -> str | None:
    """The embedlab subpackage (or top-level module) that a file belongs to; None: the root."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return parts[1] if len(parts) > 2 or parts[-1] != "__init__" else None


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module of ``from ... import``, relative imports made absolute."""
    if not node.level:
        return node.module or ""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _private_reference(own: str | None, module: str, name: str | None) -> bool:
    """Whether ``from module import name`` (or ``import module``) reaches into another package."""
    dotted = module.split(".")
    if dotted[0] != "embedlab" or (len(dotted) == 1 and name is None):
        return False
    if len(dotted) == 1:  # from embedlab import name: name is the package (or module)
        dotted = [*dotted, name]  # type: ignore[list-item]
        name = None
    if dotted[1] == own:
        return False
    inner = dotted[2:] if dotted[1] in FOUNDATION else dotted[1:]
    return any(_private(c) for c in inner) or bool(name and _private(name))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


_IMPORT_STRING = re.compile(r"^embedlab(\.\w+)+(:\w+)?$")


def _private_imports() -> list[str]:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _package_of(path)
        rel = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                module = _absolute(node, path)
                bad = [a.name for a in node.names if _private_reference(own, module, a.name)]
                if bad:
                    offenders.append(f"{rel}:{node.lineno}: from {module} import {', '.join(bad)}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _private_reference(own, alias.name, None):
                        offenders.append(f"{rel}:{node.lineno}: import {alias.name}")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _IMPORT_STRING.match(node.value)
                and _private_reference(own, node.value.partition(":")[0], None)
            ):  # an import string ("pkg.module:attr" for uvicorn, importlib)
                offenders.append(f"{rel}:{node.lineno}: import string {node.value!r}")
    return offenders


def test_no_private_imports_across_packages() -> None:
    offenders = _private_imports()
    assert not offenders, (
        "private names imported from another embedlab package (import the package's public "
        "name, exporting it in its __init__ if needed):\n" + "\n".join(offenders)
    )


def test_the_checker_sees_private_imports() -> None:
    assert _private_reference("cli", "embedlab.data._download", "fetch_movielens")
    assert _private_reference("cli", "embedlab.data", "_BY_NAME")
    assert _private_reference("cli", "embedlab", "_secret")
    assert _private_reference("data", "embedlab._io", "_tmp")
    assert not _private_reference("data", "embedlab.data._vocab", "Vocabulary")
    assert not _private_reference("cli", "embedlab.data", "fetch_movielens")
    assert not _private_reference("cli", "embedlab._config", "cache_dir")
    assert not _private_reference("cli", "embedlab", "_config")
    assert not _private_reference(None, "embedlab.data", "Vocabulary")
    assert not _private_reference("cli", "embedlab._version", "__version__")


# ------------------------------------------------------------------ importlib
_DYNAMIC = {"import_module", "__import__", "find_spec"}


def test_only_the_root_imports_embedlab_modules_dynamically() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in _DYNAMIC
                and isinstance(first, ast.Constant)
                and str(first.value).startswith("embedlab")
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, (
        "embedlab modules imported by name (invisible to the layer contract); import them "
        "with an import statement:\n" + "\n".join(offenders)
    )


def _root_lazy_and_static() -> tuple[set[str], set[str]]:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    lazy: set[str] = set()
    static: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                if isinstance(value, ast.Tuple) and isinstance(value.elts[0], ast.Constant):
                    lazy.add(str(value.elts[0].value))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module != "embedlab":
            static.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            static.update(f"embedlab.{a.name}" for a in node.names)
    return lazy, static


def test_the_roots_lazy_imports_are_in_the_graph() -> None:
    lazy, static = _root_lazy_and_static()
    assert lazy, "no lazy table found in embedlab/__init__.py"
    missing = sorted(lazy - static)
    assert not missing, (
        "embedlab/__init__.py loads these lazily without importing them under TYPE_CHECKING, "
        f"so the layer contract does not see them: {missing}"
    )
