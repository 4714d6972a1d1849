"""The comparison page: every mapped name exists, every concern has three cells, it is current."""

import difflib
import re

import pytest

from sidebyside.__main__ import PAGE_FILE, main
from sidebyside.extract import MissingReference
from sidebyside.mapping import FRAMEWORKS, KINDS, load_concerns, resolve
from sidebyside.page import render_page


def test_every_concern_has_a_cell_for_each_framework() -> None:
    """load_concerns refuses a concern without a cell; here, each cell also names code."""
    for concern in load_concerns():
        assert set(concern.references) == set(FRAMEWORKS), concern.id
        for framework, kinds in concern.references.items():
            assert kinds, f"{concern.id} has an empty {framework} cell"
            assert all(kinds.values()), f"{concern.id} has an empty kind in {framework}"


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


def test_page_labels_each_block_with_its_kind() -> None:
    """Every code block carries its kind as a class (for the toggle) and as words (to read)."""
    rows = resolve(load_concerns())
    page = render_page(rows)
    blocks = [block for row in rows for cell in row.cells.values() for block in cell]
    figures = re.findall(
        r'<figure class="([a-z ]+)"><figcaption><span class="kind kind-(\w+)">([^<]+)<', page
    )
    assert len(figures) == len(blocks) == page.count("<figure")
    for (classes, label_kind, label), block in zip(figures, blocks, strict=True):
        assert classes.split()[0] == label_kind == block.kind
        assert label == KINDS[block.kind]
    assert 'type="checkbox" id="show-all" checked' in page


def test_terminal_view_prints_the_three_cells(capsys: pytest.CaptureFixture[str]) -> None:
    """`compare create` prints each framework's code in column order, plain when not a terminal."""
    assert main(["compare", "create"]) == 0
    printed = capsys.readouterr().out
    headings = [printed.index(f"== {name}: ") for name in FRAMEWORKS.values()]
    assert headings == sorted(headings)
    assert "def create_book(" in printed
    assert "flask_books/books.py:" in printed
    assert "\x1b[" not in printed
    assert "-- [contract glue] django_books/books/views.py:" in printed


def test_terminal_view_refuses_an_unknown_concern(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown id is a usage error that points to the list of concerns."""
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "nonsense"])
    assert exit_info.value.code == 2
    assert "python -m sidebyside list" in capsys.readouterr().err
