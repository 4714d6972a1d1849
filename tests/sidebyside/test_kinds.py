"""The kinds of code: marked in the mapping, counted per package, shown as a table."""

import tomllib
from pathlib import Path

import pytest

from sidebyside import __main__ as cli
from sidebyside.mapping import (
    FRAMEWORKS,
    KINDS,
    MAPPING_FILE,
    Kind,
    MappingError,
    kind_counts,
    line_kinds,
    load_concerns,
    own_lines,
    project_kind_totals,
    resolve,
)
from sidebyside.page import render_page
from sidebyside.table import (
    END_MARKER,
    README_FILE,
    START_MARKER,
    MarkerError,
    markdown_table,
    share,
    update_readme,
    with_table,
)

MODULE = '''"""A module."""

LIMIT = 10


def view() -> int:
    return LIMIT


def check() -> None:
    pass


class Schema:
    size = 1

    def validate(self) -> None:
        pass
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one module: LIMIT (line 3), view (6-7), check (10-11), Schema (14-18)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(MODULE, encoding="utf-8")
    return tmp_path


def mapping(tmp_path: Path, *concerns: str) -> Path:
    """A mapping file of these concerns, each given as its cells' TOML lines."""
    entries = [
        f'[[concern]]\nid = "c{number}"\ntitle = "C{number}"\nnote = "N"\n{cells}\n'
        for number, cells in enumerate(concerns)
    ]
    path = tmp_path / "compare.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def cells(
    django: str,
    flask: str = 'flask.idiom = ["pkg/mod.py::LIMIT"]',
    fastapi: str = 'fastapi.idiom = ["pkg/mod.py::LIMIT"]',
) -> str:
    """A concern's cells: Django's as given, Flask's and FastAPI's LIMIT unless given."""
    return f"{django}\n{flask}\n{fastapi}"


def test_kinds_are_read_in_the_order_a_cell_shows_them(tmp_path: Path) -> None:
    """A cell's kinds come out as idiom, glue, docs, whatever the file's order."""
    django = 'django.docs = ["pkg/mod.py::check"]\ndjango.idiom = ["pkg/mod.py::view", "a::b"]'
    (concern,) = load_concerns(mapping(tmp_path, cells(django)))
    assert concern.references["django"] == {
        "idiom": ["pkg/mod.py::view", "a::b"],
        "docs": ["pkg/mod.py::check"],
    }
    assert list(concern.references["django"]) == ["idiom", "docs"]
    assert concern.references["flask"] == {"idiom": ["pkg/mod.py::LIMIT"]}


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    """A kind outside idiom, glue and docs is a MappingError naming it and the cell."""
    django = 'django.idiom = ["pkg/mod.py::view"]\ndjango.wiring = ["pkg/mod.py::check"]'
    with pytest.raises(MappingError, match=r"concern 'c0', django: unknown kind 'wiring'"):
        load_concerns(mapping(tmp_path, cells(django)))


@pytest.mark.parametrize(
    ("django", "message"),
    [
        ('django = ["pkg/mod.py::view"]', "django: no cell"),
        ("django = {}", "django: no cell"),
        ("django.glue = []", "django: glue is not a list of PATH::NAME references"),
        ('django.glue = "pkg/mod.py::view"', "django: glue is not a list"),
    ],
)
def test_a_reference_without_a_kind_is_refused(tmp_path: Path, django: str, message: str) -> None:
    """A plain list of references, an empty cell or a kind without references stops the page."""
    with pytest.raises(MappingError, match=message):
        load_concerns(mapping(tmp_path, cells(django)))


def test_every_reference_of_the_mapping_has_a_kind() -> None:
    """In docs/compare.toml itself, every cell is a table of kinds, each a list of references."""
    data = tomllib.loads(MAPPING_FILE.read_text(encoding="utf-8"))
    for entry in data["concern"]:
        for framework in FRAMEWORKS:
            cell = entry[framework]
            assert isinstance(cell, dict), f"{entry['id']}, {framework}: not a table of kinds"
            assert set(cell) <= set(KINDS), f"{entry['id']}, {framework}: {sorted(cell)}"
            for kind, references in cell.items():
                assert references, f"{entry['id']}, {framework}.{kind} is empty"
                assert all("::" in reference for reference in references)


def test_the_frameworks_own_code_is_idiom(tmp_path: Path, repo: Path) -> None:
    """An installed package's code, shown for reference, cannot be marked glue or docs."""
    django = 'django.glue = ["rest_framework/mixins.py::DestroyModelMixin.destroy"]'
    concerns = load_concerns(mapping(tmp_path, cells(django)))
    with pytest.raises(
        MappingError, match=r"idiom by definition.*DestroyModelMixin.destroy is glue"
    ):
        resolve(concerns, repo)


def test_a_cell_counts_its_lines_per_kind(tmp_path: Path, repo: Path) -> None:
    """Each block's non-blank lines count under its kind; the library's are not counted."""
    django = (
        'django.idiom = ["pkg/mod.py::view", "rest_framework/mixins.py::ListModelMixin.list"]\n'
        'django.glue = ["pkg/mod.py::check"]\ndjango.docs = ["pkg/mod.py::Schema"]'
    )
    rows = resolve(load_concerns(mapping(tmp_path, cells(django))), repo)
    blocks = rows[0].cells["django"]
    assert [block.kind for block in blocks] == ["idiom", "idiom", "glue", "docs"]
    assert kind_counts(blocks, line_kinds(rows)) == {"idiom": 2, "glue": 2, "docs": 4}


def test_the_table_is_the_sum_of_the_cells(tmp_path: Path, repo: Path) -> None:
    """With no line shown twice, each package's count of a kind is the sum of its cells'."""
    first = cells('django.idiom = ["pkg/mod.py::view"]\ndjango.glue = ["pkg/mod.py::check"]')
    second = cells(
        'django.docs = ["pkg/mod.py::Schema"]',
        'flask.glue = ["pkg/mod.py::check"]',
        'fastapi.idiom = ["pkg/mod.py::view"]',
    )
    rows = resolve(load_concerns(mapping(tmp_path, first, second)), repo)
    kinds = line_kinds(rows)
    totals = project_kind_totals(rows)
    for framework in FRAMEWORKS:
        summed = {kind: 0 for kind in KINDS}
        for row in rows:
            for kind, count in kind_counts(row.cells[framework], kinds).items():
                summed[kind] += count
        assert totals[framework] == summed, framework
    assert totals["django"] == {"idiom": 2, "glue": 2, "docs": 4}
    assert totals["flask"] == {"idiom": 1, "glue": 2, "docs": 0}
    assert totals["fastapi"] == {"idiom": 3, "glue": 0, "docs": 0}


def test_a_line_shown_in_two_rows_counts_once(tmp_path: Path, repo: Path) -> None:
    """The same reference in two rows is two cells of 2 lines, and 2 lines in the table."""
    shown_twice = cells('django.glue = ["pkg/mod.py::check"]')
    rows = resolve(load_concerns(mapping(tmp_path, shown_twice, shown_twice)), repo)
    kinds = line_kinds(rows)
    assert [kind_counts(row.cells["django"], kinds)["glue"] for row in rows] == [2, 2]
    assert project_kind_totals(rows)["django"] == {"idiom": 0, "glue": 2, "docs": 0}


def test_a_method_listed_alone_keeps_its_own_kind(tmp_path: Path, repo: Path) -> None:
    """Schema, idiom, shown whole in one row and its method, glue, in another: the method's lines
    are glue everywhere, the rest of the class idiom."""
    whole = cells('django.idiom = ["pkg/mod.py::Schema"]')
    method = cells('django.glue = ["pkg/mod.py::Schema.validate"]')
    rows = resolve(load_concerns(mapping(tmp_path, whole, method)), repo)
    kinds = line_kinds(rows)
    assert kind_counts(rows[0].cells["django"], kinds) == {"idiom": 2, "glue": 2, "docs": 0}
    assert project_kind_totals(rows)["django"] == {"idiom": 2, "glue": 2, "docs": 0}


def test_one_reference_with_two_kinds_is_refused(tmp_path: Path, repo: Path) -> None:
    """The same code marked idiom in one row and glue in another cannot be counted."""
    idiom = cells('django.idiom = ["pkg/mod.py::view"]')
    glue = cells('django.glue = ["pkg/mod.py::view"]')
    rows = resolve(load_concerns(mapping(tmp_path, idiom, glue)), repo)
    with pytest.raises(MappingError, match=r"one line, two kinds: pkg/mod.py::view is"):
        line_kinds(rows)


def test_the_pages_table_counts_every_line_of_the_rows_once() -> None:
    """On the real mapping: each kind's total is the distinct lines of that kind over the cells,
    the kinds add up to every line shown, and the page's table shows these numbers."""
    rows = resolve(load_concerns())
    kinds = line_kinds(rows)
    totals = project_kind_totals(rows)
    page = render_page(rows)
    for framework, name in FRAMEWORKS.items():
        shown = own_lines([block for row in rows for block in row.cells[framework]])
        for kind in KINDS:
            assert totals[framework][kind] == sum(1 for line in shown if kinds[line] == kind)
        assert sum(totals[framework].values()) == len(shown)
        assert all(totals[framework][kind] > 0 for kind in KINDS), framework
        total = sum(totals[framework].values())
        counts = "".join(f"<td>{share(totals[framework][kind], total)}</td>" for kind in KINDS)
        assert f'<tr><th scope="row">{name}</th>{counts}<td>{total}</td></tr>' in page


def test_markdown_table() -> None:
    """A header, an alignment row, then per package each kind's lines, its share, the total."""
    totals: dict[str, dict[Kind, int]] = {
        "django": {"idiom": 1, "glue": 2, "docs": 1},
        "flask": {"idiom": 3, "glue": 0, "docs": 0},
        "fastapi": {"idiom": 0, "glue": 0, "docs": 0},
    }
    assert markdown_table(totals).splitlines() == [
        "| package | framework idiom | contract glue | API documentation | total |",
        "|---|---:|---:|---:|---:|",
        "| Django + DRF | 1 (25%) | 2 (50%) | 1 (25%) | 4 |",
        "| Flask | 3 (100%) | 0 (0%) | 0 (0%) | 3 |",
        "| FastAPI | 0 (0%) | 0 (0%) | 0 (0%) | 0 |",
    ]


README = f"""# Title

Before.

{START_MARKER}
| an old table |
{END_MARKER}

After.
"""


def test_the_table_is_written_between_the_markers(tmp_path: Path) -> None:
    """Only the text between the markers changes; written again, the file stays the same."""
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    assert update_readme(readme, "| new |\n|---|")
    expected = README.replace("| an old table |", "| new |\n|---|")
    assert readme.read_text(encoding="utf-8") == expected
    assert update_readme(readme, "| new |\n|---|")
    assert readme.read_text(encoding="utf-8") == expected


def test_a_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    """No markers: nothing is written; one marker alone, or the two swapped, is an error."""
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n", encoding="utf-8")
    assert not update_readme(readme, "| new |")
    assert readme.read_text(encoding="utf-8") == "# Title\n"
    for broken in (f"{START_MARKER}\n", f"{END_MARKER}\n{START_MARKER}\n"):
        with pytest.raises(MarkerError):
            with_table(broken, "| new |")


def test_the_page_command_writes_the_page_and_the_readme_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m sidebyside page FILE` writes the page, and the table into README.md."""
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    monkeypatch.setattr(cli, "README_FILE", readme)
    page = tmp_path / "compare.html"
    assert cli.main(["page", str(page)]) == 0
    rows = resolve(load_concerns())
    assert page.read_text(encoding="utf-8") == render_page(rows)
    table = markdown_table(project_kind_totals(rows))
    assert f"{START_MARKER}\n{table}\n{END_MARKER}" in readme.read_text(encoding="utf-8")
    assert "lines-per-kind table" in capsys.readouterr().out


def test_the_table_command_prints_the_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m sidebyside table` prints what README.md holds between its markers."""
    assert cli.main(["table"]) == 0
    expected = markdown_table(project_kind_totals(resolve(load_concerns())))
    assert capsys.readouterr().out == expected + "\n"


def test_readme_table_is_current() -> None:
    """README.md's size table is the one `make compare` writes between its markers."""
    text = README_FILE.read_text(encoding="utf-8")
    for marker in (START_MARKER, END_MARKER):
        assert marker in text, f"README.md needs the lines {START_MARKER} and {END_MARKER}"
    table = markdown_table(project_kind_totals(resolve(load_concerns())))
    assert with_table(text, table) == text, "README.md's table is out of date: run `make compare`"
