"""Notebook sources (py:percent) and their paired .ipynb agree; the .ipynb carry no outputs.

The notebooks themselves are executed top to bottom by nbmake (``pytest --nbmake``, in addopts).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.py"))


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"00_the_paradigm", "01_image_regeneration"}


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_paired_and_clean(source):
    ipynb = source.with_suffix(".ipynb")
    assert ipynb.exists(), f"run `jupytext --sync {source}`"
    from_py = jupytext.read(source)
    committed = nbformat.read(ipynb, as_version=4)
    assert [c.source for c in from_py.cells] == [c.source for c in committed.cells], (
        f"{ipynb.name} is out of sync"
    )
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{ipynb.name} is committed with outputs"
            )
