"""The comparison page: every mapped name exists, every concern has three cells, it is current."""

import difflib
import re

import pytest

from sidebyside.__main__ import PAGE_FILE, main
from sidebyside.extract import MissingReference
from sidebyside.mapping import FRAMEWORKS, load_concerns, project_line_totals, resolve
from sidebyside.page import render_page


def test_every_concern_has_a_cell_for_each_framework() -> None:
    """load_concerns refuses a concern without a cell; here, each cell also names code."""
    for concern in load_concerns():
        assert set(concern.references) == set(FRAMEWORKS), concern.id
        for framework, references in concern.references.items():
            assert references, f"{concern.id} has an empty {framework} cell"


def test_every_mapped_name_exists() -> None:
    """A renamed or removed function, class, setting or target fails here, by concern and name."""
    try:
        rows = resolve(load_concerns())
    except MissingReference as error:
        pytest.fail(f"docs/compare.toml names code that is gone:\n{error}")
    for row in rows:
        for framework, snippets in row.cells.items():
            assert snippets, f"{row.concern.id} has no {framework} code"


def test_committed_page_is_current() -> None:
    """docs/compare.html is what `make compare` makes from the code as it is now."""
    expected = render_page(resolve(load_concerns()))
    committed = PAGE_FILE.read_text(encoding="utf-8")
    if committed != expected:
        diff = difflib.unified_diff(
            committed.splitlines(), expected.splitlines(), "committed", "regenerated", lineterm=""
        )
        shown = "\n".join(line[:160] for line in list(diff)[:40])
        pytest.fail(f"docs/compare.html is out of date: run `make compare`.\n{shown}")


def test_page_is_self_contained() -> None:
    """No script, stylesheet link, image or font from anywhere: one file that works offline."""
    page = PAGE_FILE.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<link" not in page
    assert re.findall(r'\b(?:src|href)="(?!#)[^"]*"', page) == []
    assert "url(" not in page
    assert "@import" not in page


def test_page_shows_the_totals_of_the_rows() -> None:
    """The totals row holds each framework's distinct lines, in column order."""
    rows = resolve(load_concerns())
    totals = project_line_totals(rows)
    cells = "".join(f"<td>{totals[framework]}</td>" for framework in FRAMEWORKS)
    assert f"<tr>{cells}</tr>" in render_page(rows)
    assert all(total > 0 for total in totals.values())


def test_terminal_view_prints_the_three_cells(capsys: pytest.CaptureFixture[str]) -> None:
    """`compare create` prints each framework's code in column order, plain when not a terminal."""
    assert main(["compare", "create"]) == 0
    printed = capsys.readouterr().out
    headings = [printed.index(f"== {name}: ") for name in FRAMEWORKS.values()]
    assert headings == sorted(headings)
    assert "def create_book(" in printed
    assert "flask_books/books.py:" in printed
    assert "\x1b[" not in printed


def test_terminal_view_refuses_an_unknown_concern(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id is a usage error that points to the list of concerns."""
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "nonsense"])
    assert exit_info.value.code == 2
    assert "python -m sidebyside list" in capsys.readouterr().err
