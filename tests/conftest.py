"""Shared test set-up: this folder is on the import path (pytest's rootdir conftest), so every test package
imports the shared fakes as ``from fakes import ScriptedChat`` instead of reaching into another test module."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
