"""The mapping from concerns to code: docs/compare.toml, read and checked."""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard

from sidebyside.extract import REPO_ROOT, MissingReference, Snippet, extract, merge_adjacent

MAPPING_FILE = REPO_ROOT / "docs" / "compare.toml"

# The columns, in order: the key in the mapping file, and the name shown.
FRAMEWORKS = {"django": "Django + DRF", "flask": "Flask", "fastapi": "FastAPI"}

Kind = Literal["idiom", "glue", "docs"]
# The kinds of code, in the order a cell shows them: the key in the mapping file, the name shown.
KINDS: dict[Kind, str] = {
    "idiom": "framework idiom",
    "glue": "contract glue",
    "docs": "API documentation",
}


def is_kind(key: str) -> TypeGuard[Kind]:
    return key in KINDS


@dataclass(frozen=True)
class Concern:
    """One row: a concern, a note on how the frameworks differ, and each column's references."""

    id: str
    title: str
    note: str
    references: dict[str, dict[Kind, list[str]]]  # framework key -> kind -> ["PATH::NAME", ...]


@dataclass(frozen=True)
class Block:
    """One snippet of a cell, with the kind its reference is marked as."""

    kind: Kind
    snippet: Snippet


@dataclass(frozen=True)
class Row:
    """A concern with its references resolved into blocks, a cell's in the order of KINDS."""

    concern: Concern
    cells: dict[str, list[Block]]


class MappingError(ValueError):
    """The mapping file is malformed: a concern lacks a field, an id, a cell or a kind."""


def load_concerns(mapping_file: Path = MAPPING_FILE) -> list[Concern]:
    """Every concern in the mapping file, in its order; MappingError if one is incomplete."""
    data = tomllib.loads(mapping_file.read_text(encoding="utf-8"))
    concerns, problems = [], []
    for position, entry in enumerate(data.get("concern", []), start=1):
        label = f"concern {entry.get('id', position)!r}"
        entry_problems = []
        for field in ("id", "title", "note"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                entry_problems.append(f"{label} has no {field}")
        references = {}
        for framework in FRAMEWORKS:
            cell, cell_problems = read_cell(entry.get(framework), f"{label}, {framework}")
            references[framework] = cell
            entry_problems += cell_problems
        unknown = set(entry) - {"id", "title", "note", *FRAMEWORKS}
        if unknown:
            entry_problems.append(f"{label} has unknown keys: {', '.join(sorted(unknown))}")
        if not entry_problems:
            concerns.append(Concern(entry["id"], entry["title"], entry["note"], references))
        problems += entry_problems
    ids = [concern.id for concern in concerns]
    problems += [f"concern {id!r} appears twice" for id in sorted(set(ids)) if ids.count(id) > 1]
    if not concerns and not problems:
        problems.append("no concern is mapped")
    if problems:
        raise MappingError(f"{mapping_file.name}: " + "; ".join(problems))
    return concerns


def read_cell(value: Any, label: str) -> tuple[dict[Kind, list[str]], list[str]]:
    """A cell's references by kind, and what is wrong with it: `{idiom = [...], glue = [...]}`."""
    if not isinstance(value, dict) or not value:
        return {}, [f"{label}: no cell (a table of idiom, glue and docs references)"]
    cell: dict[Kind, list[str]] = {}
    problems = []
    for key, references in value.items():
        if not is_kind(key):
            problems.append(f"{label}: unknown kind {key!r} (not idiom, glue or docs)")
        elif (
            not isinstance(references, list)
            or not references
            or not all(isinstance(reference, str) for reference in references)
        ):
            problems.append(f"{label}: {key} is not a list of PATH::NAME references")
        else:
            cell[key] = references
    return {kind: cell[kind] for kind in KINDS if kind in cell}, problems


def resolve(concerns: list[Concern], repo_root: Path = REPO_ROOT) -> list[Row]:
    """Every concern's blocks; MissingReference naming every reference that is not found, and
    MappingError for the framework's own code marked as anything but idiom."""
    rows, missing, misplaced = [], [], []
    for concern in concerns:
        cells: dict[str, list[Block]] = {}
        for framework, kinds in concern.references.items():
            cells[framework] = []
            for kind, references in kinds.items():
                snippets = []
                for reference in references:
                    try:
                        snippets.append(extract(reference, repo_root))
                    except MissingReference as error:
                        missing.append(f"[{concern.id}, {framework}] {error}")
                        continue
                    if snippets[-1].library and kind != "idiom":
                        misplaced.append(f"[{concern.id}, {framework}] {reference} is {kind}")
                cells[framework] += [Block(kind, snippet) for snippet in merge_adjacent(snippets)]
        rows.append(Row(concern, cells))
    if missing:
        raise MissingReference("\n".join(missing))
    if misplaced:
        raise MappingError(
            "the framework's own code is idiom by definition: " + "; ".join(misplaced)
        )
    return rows


Line = tuple[str, int]  # a file as shown, and a line number in it


def line_kinds(rows: list[Row]) -> dict[Line, Kind]:
    """The kind of each line of the project's own code that the rows show.

    A line shown in several blocks takes the kind of the smallest of them: a method listed on its
    own (BookSerializer.update, glue) inside a class listed whole elsewhere (BookSerializer,
    idiom) counts as the method's kind. Two blocks of the same size are one reference: marked
    with two kinds, it is a MappingError.
    """
    smallest: dict[Line, tuple[int, Kind, str]] = {}
    conflicts = set()
    for row in rows:
        for blocks in row.cells.values():
            for block in blocks:
                snippet = block.snippet
                if snippet.library:
                    continue
                size = snippet.last_line - snippet.first_line
                for number in snippet.code_lines:
                    line = (snippet.path, number)
                    known = smallest.get(line)
                    if known is None or size < known[0]:
                        smallest[line] = (size, block.kind, snippet.reference)
                    elif size == known[0] and block.kind != known[1]:
                        conflicts.add(
                            f"{snippet.reference} is {block.kind} and {known[2]} is {known[1]}"
                        )
    if conflicts:
        raise MappingError("one line, two kinds: " + "; ".join(sorted(conflicts)))
    return {line: kind for line, (_size, kind, _reference) in smallest.items()}


def own_lines(blocks: list[Block]) -> set[Line]:
    """The non-blank lines of the project's own code in these blocks; shown twice, counted once."""
    return {
        (block.snippet.path, number)
        for block in blocks
        if not block.snippet.library
        for number in block.snippet.code_lines
    }


def own_line_count(blocks: list[Block]) -> int:
    """Non-blank lines of the project's own code in these blocks; shown twice, counted once."""
    return len(own_lines(blocks))


def kind_counts(blocks: list[Block], kinds: dict[Line, Kind]) -> dict[Kind, int]:
    """The non-blank lines of the project's own code in these blocks, counted per kind."""
    lines = own_lines(blocks)
    return {kind: sum(1 for line in lines if kinds[line] == kind) for kind in KINDS}


def project_kind_totals(rows: list[Row]) -> dict[str, dict[Kind, int]]:
    """Lines of the project's own code per framework and kind, over every row."""
    kinds = line_kinds(rows)
    return {
        framework: kind_counts([block for row in rows for block in row.cells[framework]], kinds)
        for framework in FRAMEWORKS
    }
