"""Find a named piece of code in a file and return its source, its line range and its line count.

A reference is `PATH::NAME`. In a Python file, NAME is a qualified name found with `ast`: a
function, class or module-level assignment (`create_app`, `DATABASES`), or a name inside a class
(`BookViewSet.update`, `BookViewSet.queryset`). The range includes the decorators and the comment
lines right above. A module-level assignment also takes the statements right after it that call a
method of that name or assign into it: `router = SimpleRouter(...)` then `router.register(...)`,
`DATABASES = {...}` then `DATABASES["default"]["CONN_MAX_AGE"] = 60`. In the Makefile, NAME is a
target: its rule lines and recipe. PATH is relative to the repository root; a path that is not in
it is looked up in an installed package (`rest_framework/mixins.py`): what a framework does for
the code.
"""

import ast
import importlib.util
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class MissingReference(LookupError):
    """A reference names a file or a name that does not exist."""


@dataclass(frozen=True)
class Snippet:
    """The source of one named piece of code."""

    reference: str
    path: str  # as shown: relative to the repository root, or to the installed package's parent
    name: str
    language: str  # a pygments lexer name: "python" or "make"
    first_line: int
    last_line: int
    source: str  # dedented, without a trailing newline
    library: bool  # installed code a framework provides, shown for reference and not counted
    file: Path
    code_lines: frozenset[int]  # the numbers of the lines in the range that are not blank

    @property
    def line_count(self) -> int:
        """The number of lines that are not blank, as line counts of code usually are."""
        return len(self.code_lines)


def lines(count: int) -> str:
    """A count of lines in words: "1 line", "12 lines"."""
    return f"{count} line" if count == 1 else f"{count} lines"


def extract(reference: str, repo_root: Path = REPO_ROOT) -> Snippet:
    """The snippet a `PATH::NAME` reference names; MissingReference if there is none."""
    path_text, separator, name = reference.partition("::")
    if not separator or not name:
        raise MissingReference(f"{reference!r} is not of the form PATH::NAME")
    path, library = locate(path_text, repo_root)
    file_lines = path.read_text(encoding="utf-8").splitlines()
    if path.name == "Makefile":
        language, (first, last) = "make", makefile_target_range(file_lines, name, reference)
    else:
        tree = ast.parse("\n".join(file_lines), filename=str(path))
        language, (first, last) = "python", python_name_range(tree, file_lines, name, reference)
    source = textwrap.dedent("\n".join(file_lines[first - 1 : last]))
    code_lines = frozenset(n for n in range(first, last + 1) if file_lines[n - 1].strip())
    return Snippet(
        reference, path_text, name, language, first, last, source, library, path, code_lines
    )


def merge_adjacent(snippets: list[Snippet]) -> list[Snippet]:
    """The snippets, with each run from one file that only blank lines separate shown as one."""
    merged: list[Snippet] = []
    for snippet in snippets:
        previous = merged[-1] if merged else None
        if previous is None or previous.file != snippet.file:
            merged.append(snippet)
            continue
        file_lines = previous.file.read_text(encoding="utf-8").splitlines()
        between = file_lines[previous.last_line : snippet.first_line - 1]
        if snippet.first_line <= previous.last_line or any(line.strip() for line in between):
            merged.append(snippet)
            continue
        source = "\n".join(file_lines[previous.first_line - 1 : snippet.last_line])
        merged[-1] = replace(
            previous,
            reference=f"{previous.reference}, {snippet.name}",
            name=f"{previous.name}, {snippet.name}",
            last_line=snippet.last_line,
            source=textwrap.dedent(source),
            code_lines=previous.code_lines | snippet.code_lines,
        )
    return merged


def locate(path_text: str, repo_root: Path) -> tuple[Path, bool]:
    """The file a reference's path names, and whether it is installed library code."""
    in_repo = repo_root / path_text
    if in_repo.is_file():
        return in_repo, False
    top_level, _, rest = path_text.partition("/")
    spec = importlib.util.find_spec(top_level) if top_level.isidentifier() else None
    for location in (spec and spec.submodule_search_locations) or []:
        installed = Path(location) / rest
        if installed.is_file():
            return installed, True
    raise MissingReference(f"{path_text}: no such file in the repository or an installed package")


def python_name_range(
    tree: ast.Module, lines: list[str], qualified_name: str, reference: str
) -> tuple[int, int]:
    """The first and last line of a qualified name's statement in a module."""
    body: list[ast.stmt] = tree.body
    parts = qualified_name.split(".")
    for depth, part in enumerate(parts):
        found = next((i for i, stmt in enumerate(body) if part in defined_names(stmt)), None)
        if found is None:
            scope = ".".join(parts[:depth]) or "the module"
            raise MissingReference(f"{reference}: {scope} defines no {part!r}")
        index = found
        statement = body[index]
        if depth < len(parts) - 1:
            if not isinstance(statement, ast.ClassDef):
                raise MissingReference(f"{reference}: {part!r} is not a class")
            body = statement.body
    decorators = getattr(statement, "decorator_list", [])
    first = min([statement.lineno] + [decorator.lineno for decorator in decorators])
    last = statement.end_lineno or statement.lineno
    if len(parts) == 1 and isinstance(statement, ast.Assign | ast.AnnAssign):
        for following in body[index + 1 :]:
            if not changes(following, parts[0]):
                break
            last = following.end_lineno or following.lineno
    while first > 1 and lines[first - 2].strip().startswith("#"):
        first -= 1
    return first, last


def defined_names(statement: ast.stmt) -> set[str]:
    """The names a function, class or assignment statement binds."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    names: set[str] = set()
    for target in targets:
        elements = target.elts if isinstance(target, ast.Tuple) else [target]
        names.update(element.id for element in elements if isinstance(element, ast.Name))
    return names


def changes(statement: ast.stmt, name: str) -> bool:
    """Whether a statement calls a method of `name` (app.include_router(...)) or assigns into it
    (DATABASES["default"]["OPTIONS"] = ...)."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        targets = [statement.value.func]
    elif isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    else:
        return False
    return any(
        isinstance(target, ast.Attribute | ast.Subscript) and root_name(target) == name
        for target in targets
    )


def root_name(expression: ast.expr) -> str | None:
    """The name an attribute or item chain starts from: `a` for a.b["c"].d."""
    while isinstance(expression, ast.Attribute | ast.Subscript | ast.Call):
        expression = expression.func if isinstance(expression, ast.Call) else expression.value
    return expression.id if isinstance(expression, ast.Name) else None


def makefile_target_range(lines: list[str], target: str, reference: str) -> tuple[int, int]:
    """The first and last line of a Makefile target: the rule with its recipe, the target's rule
    lines right above it (such as `serve: PORT ?= 8000`), and the comment above those."""

    def is_rule(number: int) -> bool:
        """Whether this line (counted from 1) is a rule line of the target."""
        line = lines[number - 1]
        return line.startswith(f"{target}:") and not line.startswith(f"{target}:=")

    rule_lines = [number for number in range(1, len(lines) + 1) if is_rule(number)]
    if not rule_lines:
        raise MissingReference(f"{reference}: the Makefile has no target {target!r}")
    with_recipe = [n for n in rule_lines if n < len(lines) and lines[n].startswith("\t")]
    first = last = (with_recipe or rule_lines)[-1]
    while first > 1 and is_rule(first - 1):
        first -= 1
    # The recipe: tab-indented lines, and the lines a backslash continues.
    while last < len(lines) and (lines[last].startswith("\t") or lines[last - 1].endswith("\\")):
        last += 1
    while first > 1 and lines[first - 2].startswith("#"):
        first -= 1
    return first, last
