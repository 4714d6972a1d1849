"""Extraction by name: what a reference's range includes, and an error when it names nothing."""

from pathlib import Path

import pytest

from sidebyside.extract import MissingReference, extract, merge_adjacent
from sidebyside.mapping import MappingError, load_concerns

MODULE = '''"""A module."""

import functools

LIMIT = 10
first, second = 1, 2

router = make_router()
router.register("books")
router.routes["health"] = None
print(router)


# Why this cache exists.
@functools.cache
def cached() -> int:
    return LIMIT


class Shelf:
    size: int = 3

    @property
    def full(self) -> bool:
        """Whether it is full."""
        return True
'''

MAKEFILE = """# The first comment.
serve: WORKERS ?= 2

# Starts the server.
serve: PORT ?= 8000
serve: install  ## Serve
\t@echo one \\
\t\ttwo
\tpython -m server

test: install
\tpytest
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one Python module and a Makefile."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "Makefile").write_text(MAKEFILE, encoding="utf-8")
    return tmp_path


def lines_of(repo: Path, reference: str) -> tuple[int, int, str]:
    """The first line, last line and source of a reference."""
    snippet = extract(reference, repo)
    return snippet.first_line, snippet.last_line, snippet.source


def test_function_with_its_decorator_and_the_comment_above(repo: Path) -> None:
    """A decorated function starts at the comment right above its decorator."""
    first, last, source = lines_of(repo, "pkg/mod.py::cached")
    assert (first, last) == (14, 17)
    assert source.startswith("# Why this cache exists.\n@functools.cache\ndef cached()")


def test_method_of_a_class_dedented(repo: Path) -> None:
    """Class.method names a method; its source loses the class's indentation."""
    first, last, source = lines_of(repo, "pkg/mod.py::Shelf.full")
    assert (first, last) == (23, 26)
    assert source.splitlines()[0] == "@property"


def test_class_attribute_and_module_assignments(repo: Path) -> None:
    """Annotated class attributes, plain and tuple assignments are found by name."""
    assert lines_of(repo, "pkg/mod.py::Shelf.size")[:2] == (21, 21)
    assert lines_of(repo, "pkg/mod.py::LIMIT")[:2] == (5, 5)
    assert lines_of(repo, "pkg/mod.py::second")[:2] == (6, 6)


def test_assignment_takes_the_changes_to_it_that_follow(repo: Path) -> None:
    """router = ..., a method call and an item set: one range; print(router) changes nothing."""
    assert lines_of(repo, "pkg/mod.py::router")[:2] == (8, 10)


def test_makefile_target_with_its_rules_recipe_and_comment(repo: Path) -> None:
    """A target's lines: the comment above, both rule lines, and the continued recipe; a rule line
    of the same target elsewhere (WORKERS) is left out rather than the lines between."""
    first, last, source = lines_of(repo, "Makefile::serve")
    assert (first, last) == (4, 9)
    assert source.startswith("# Starts the server.\nserve: PORT ?= 8000\n")
    assert source.endswith("\tpython -m server")
    assert lines_of(repo, "Makefile::test")[:2] == (11, 12)


def test_installed_package_code_is_marked_as_library(repo: Path) -> None:
    """A path outside the repository is read from the installed package of that name."""
    snippet = extract("rest_framework/mixins.py::DestroyModelMixin.destroy", repo)
    assert snippet.library
    assert snippet.source.startswith("def destroy(self, request")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("pkg/mod.py::missing", "the module defines no 'missing'"),
        ("pkg/mod.py::Shelf.empty", "Shelf defines no 'empty'"),
        ("pkg/mod.py::cached.inner", "'cached' is not a class"),
        ("pkg/gone.py::cached", "no such file"),
        ("Makefile::deploy", "no target 'deploy'"),
        ("pkg/mod.py", "not of the form PATH::NAME"),
    ],
)
def test_a_reference_to_nothing_says_what_is_missing(
    repo: Path, reference: str, message: str
) -> None:
    """Each way a name can disappear is a MissingReference that names it."""
    with pytest.raises(MissingReference, match=message):
        extract(reference, repo)


def test_adjacent_snippets_of_one_file_are_shown_as_one(repo: Path) -> None:
    """LIMIT and the tuple on the next line merge; a snippet after other code does not."""
    snippets = [extract(f"pkg/mod.py::{name}", repo) for name in ("LIMIT", "first", "cached")]
    merged = merge_adjacent(snippets)
    assert [(s.name, s.first_line, s.last_line) for s in merged] == [
        ("LIMIT, first", 5, 6),
        ("cached", 14, 17),
    ]


def test_line_counts_leave_out_blank_lines(repo: Path) -> None:
    """A count of lines is of non-blank lines, also across the blank lines that a merge spans."""
    assert extract("pkg/mod.py::Shelf", repo).line_count == 6
    merged = merge_adjacent([extract(f"pkg/mod.py::{name}", repo) for name in ("second", "router")])
    assert [(s.first_line, s.last_line, s.line_count) for s in merged] == [(6, 10, 4)]


def test_mapping_without_a_cell_is_refused(tmp_path: Path) -> None:
    """A concern missing a framework's cell, or with an empty one, stops the page being made."""
    mapping = tmp_path / "compare.toml"
    mapping.write_text(
        '[[concern]]\nid = "x"\ntitle = "X"\nnote = "N"\ndjango = ["a::b"]\nflask = []\n',
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match=r"django: no cell.*flask: no cell.*fastapi: no cell"):
        load_concerns(mapping)
