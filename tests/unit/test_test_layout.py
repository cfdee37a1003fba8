"""The test tree itself: pytest's default import mode needs unique test-module basenames across folders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_layout_test_module_basenames_are_unique():
    names = Counter(p.name for p in TESTS.rglob("*.py") if p.name not in {"conftest.py", "__init__.py"})
    assert [n for n, c in names.items() if c > 1] == []
