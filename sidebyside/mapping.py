"""The mapping from concerns to code: docs/compare.toml, read and checked."""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sidebyside.extract import REPO_ROOT, MissingReference, Snippet, extract, merge_adjacent

MAPPING_FILE = REPO_ROOT / "docs" / "compare.toml"

# The columns, in order: the key in the mapping file, and the name shown.
FRAMEWORKS = {"django": "Django + DRF", "flask": "Flask", "fastapi": "FastAPI"}


@dataclass(frozen=True)
class Concern:
    """One row: a concern, a note on how the frameworks differ, and each column's references."""

    id: str
    title: str
    note: str
    references: dict[str, list[str]]  # framework key -> ["PATH::NAME", ...]


@dataclass(frozen=True)
class Row:
    """A concern with its references resolved into snippets."""

    concern: Concern
    cells: dict[str, list[Snippet]]


class MappingError(ValueError):
    """The mapping file is malformed: a concern lacks a field, an id or a cell."""


def load_concerns(mapping_file: Path = MAPPING_FILE) -> list[Concern]:
    """Every concern in the mapping file, in its order; MappingError if one is incomplete."""
    data = tomllib.loads(mapping_file.read_text(encoding="utf-8"))
    concerns, problems = [], []
    for position, entry in enumerate(data.get("concern", []), start=1):
        label = f"concern {entry.get('id', position)!r}"
        for field in ("id", "title", "note"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                problems.append(f"{label} has no {field}")
        for framework in FRAMEWORKS:
            references = entry.get(framework)
            if not isinstance(references, list) or not references:
                problems.append(f"{label} has no cell for {framework}")
        unknown = set(entry) - {"id", "title", "note", *FRAMEWORKS}
        if unknown:
            problems.append(f"{label} has unknown keys: {', '.join(sorted(unknown))}")
        if not problems:
            references = {framework: list(entry[framework]) for framework in FRAMEWORKS}
            concerns.append(Concern(entry["id"], entry["title"], entry["note"], references))
    ids = [concern.id for concern in concerns]
    problems += [f"concern {id!r} appears twice" for id in sorted(set(ids)) if ids.count(id) > 1]
    if not concerns and not problems:
        problems.append("no concern is mapped")
    if problems:
        raise MappingError(f"{mapping_file.name}: " + "; ".join(problems))
    return concerns


def resolve(concerns: list[Concern], repo_root: Path = REPO_ROOT) -> list[Row]:
    """Every concern's snippets; MissingReference naming every reference that is not found."""
    rows, missing = [], []
    for concern in concerns:
        cells: dict[str, list[Snippet]] = {}
        for framework, references in concern.references.items():
            cells[framework] = []
            for reference in references:
                try:
                    cells[framework].append(extract(reference, repo_root))
                except MissingReference as error:
                    missing.append(f"[{concern.id}, {framework}] {error}")
            cells[framework] = merge_adjacent(cells[framework])
        rows.append(Row(concern, cells))
    if missing:
        raise MissingReference("\n".join(missing))
    return rows


def own_line_count(snippets: list[Snippet]) -> int:
    """Non-blank lines of the project's own code in these snippets; shown twice, counted once."""
    return len(
        {
            (snippet.path, number)
            for snippet in snippets
            if not snippet.library
            for number in snippet.code_lines
        }
    )


def project_line_totals(rows: list[Row]) -> dict[str, int]:
    """Lines of the project's own code per framework, over every row."""
    return {
        framework: own_line_count([snippet for row in rows for snippet in row.cells[framework]])
        for framework in FRAMEWORKS
    }
