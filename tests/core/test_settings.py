"""The environment is read in one module only (``copilot.core.settings``); everything else asks it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from copilot.core import settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("copilot", "tools", "solvers", "graphs")


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb") and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name in ("environ", "getenv", "environb") for a in node.names):
            lines.append(node.lineno)
    return sorted(lines)


def test_no_module_but_settings_reads_the_environment() -> None:
    home = Path(settings.__file__).resolve()
    offenders = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.resolve() == home:
                continue
            for line in _reads_environment(ast.parse(path.read_text(encoding="utf-8"))):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == []


def test_the_scan_would_see_a_read() -> None:
    assert _reads_environment(ast.parse("import os\nx = os.environ.get('A')\ny = os.getenv('B')\nfrom os import environ\n")) == [2, 3, 4]


def test_data_dir_and_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.HOME, str(tmp_path / "home"))
    assert settings.data_dir() == tmp_path / "home" and (tmp_path / "home").is_dir()
    monkeypatch.delenv(settings.HOME)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert settings.data_dir() == tmp_path / "xdg" / "logistics-copilot"
    monkeypatch.setenv(settings.DB_URL, "")
    assert settings.env(settings.DB_URL, "fallback") == "fallback"
