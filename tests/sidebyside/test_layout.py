"""The layout verdicts of `make compare-check`, on measurements made up for each case."""

from collections.abc import Sequence

from sidebyside.layout import Box, Measured, Shown, layout_problems, toggle_problems


def measured(
    cells: Sequence[tuple[float, float, float, float]],
    viewport: float = 1440,
    pageWidth: float = 1440,
    overflowingCode: int = 0,
    smallestFont: float = 12,
) -> Measured:
    """A page of one row with these cells as (left, right, top, bottom)."""
    boxes = [
        Box(left=left, right=right, top=top, bottom=bottom) for left, right, top, bottom in cells
    ]
    return Measured(
        viewport=viewport,
        pageWidth=pageWidth,
        rows=[{"id": "create", "cells": boxes}],
        overflowingCode=overflowingCode,
        smallestFont=smallestFont,
    )


COLUMNS = [(24, 470, 100, 600), (486, 932, 100, 400), (948, 1394, 100, 500)]
STACKED = [(12, 378, 100, 600), (12, 378, 610, 900), (12, 378, 910, 1200)]


def test_three_columns_pass_on_a_laptop_and_fail_on_a_phone() -> None:
    """Side by side is right at 1440 px, and wrong where the cells should stack."""
    assert layout_problems(measured(COLUMNS), side_by_side=True) == []
    assert layout_problems(measured(COLUMNS, viewport=390, pageWidth=390), side_by_side=False) == [
        "row create: the cells are not stacked at full width"
    ]


def test_stacked_cells_pass_on_a_phone_and_fail_on_a_laptop() -> None:
    """Stacked is right at 390 px, and wrong where there is room for three columns."""
    assert layout_problems(measured(STACKED, viewport=390, pageWidth=390), side_by_side=False) == []
    assert layout_problems(measured(STACKED), side_by_side=True) == [
        "row create: the cells are not three columns side by side"
    ]


def test_a_page_wider_than_the_window_or_tiny_text_fails() -> None:
    """Sideways scrolling of the whole page, overflowing code and small fonts are each reported."""
    problems = layout_problems(
        measured(COLUMNS, pageWidth=1500, overflowingCode=2, smallestFont=9), side_by_side=True
    )
    assert problems == [
        "the page is 1500 px wide in a 1440 px window",
        "2 code blocks overflow their cell",
        "text as small as 9 px",
    ]


def test_a_row_without_three_cells_fails() -> None:
    """A row that lost a cell is reported, whatever the width."""
    assert layout_problems(measured(COLUMNS[:2]), side_by_side=True) == [
        "row create has 2 cells, not 3"
    ]


def shown(idiom: int, glue: int, docs: int, total: int = 4) -> dict[str, Shown]:
    """Of 4 blocks of each kind, how many are displayed."""
    return {
        "idiom": {"total": total, "shown": idiom},
        "glue": {"total": total, "shown": glue},
        "docs": {"total": total, "shown": docs},
    }


def test_a_working_toggle_passes() -> None:
    """All shown, then idiom alone, then all again: as designed."""
    assert toggle_problems(shown(4, 4, 4), shown(4, 0, 0), shown(4, 4, 4)) == []


def test_a_toggle_that_hides_too_little_or_too_much_fails() -> None:
    """Glue left showing, idiom hidden with the rest, or docs not coming back are each reported."""
    assert toggle_problems(shown(4, 4, 4), shown(3, 1, 0), shown(4, 4, 2)) == [
        "with glue and documentation hidden: 3 of 4 idiom blocks are shown, not 4",
        "with glue and documentation hidden: 1 of 4 glue blocks are shown, not 0",
        "shown again: 2 of 4 docs blocks are shown, not 4",
    ]


def test_a_page_without_blocks_of_a_kind_fails() -> None:
    """A toggle with nothing to hide proves nothing: a page with no glue or docs is reported."""
    nothing = shown(0, 0, 0, total=0)
    assert toggle_problems(nothing, nothing, nothing) == [
        "the page has no idiom block",
        "the page has no glue block",
        "the page has no docs block",
    ]
