"""What each package costs before it serves a request: its code, its dependencies, their size."""

import ast
import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# The production server each package runs under (the Makefile's serve targets).
SERVERS = {"django": "gunicorn", "flask": "gunicorn", "fastapi": "uvicorn"}
VERSIONS = [
    "django",
    "djangorestframework",
    "flask",
    "flask-smorest",
    "marshmallow",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "pydantic",
    "sqlmodel",
    "gunicorn",
    "uvicorn",
]


def code_size(*paths: Path) -> dict[str, int]:
    """Non-blank lines and files of Python in these modules and package folders, no migrations."""
    files = [file for path in paths for file in ([path] if path.is_file() else path.rglob("*.py"))]
    files = [file for file in files if "migrations" not in file.parts]
    lines = sum(
        1
        for file in files
        for line in file.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    return {"lines": lines, "files": len(files)}


def imported_distributions(package: Path) -> set[str]:
    """The installed distributions whose modules the package imports."""
    modules = set()
    for file in package.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    by_module = metadata.packages_distributions()
    return {
        canonicalize_name(distribution)
        for module in modules - set(sys.stdlib_module_names) - {package.name}
        for distribution in by_module.get(module, [])
    }


def requested_extras(root: Path) -> dict[str, set[str]]:
    """The extras pyproject.toml asks for, by distribution (uvicorn[standard])."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    return {canonicalize_name(req.name): set(req.extras) for req in requirements}


def closure(direct: set[str], extras: dict[str, set[str]]) -> set[str]:
    """The direct distributions and everything they require on this Python, with extras."""
    found: set[str] = set()
    pending = [(name, extras.get(name, set())) for name in direct]
    while pending:
        name, wanted = pending.pop()
        if name in found:
            continue
        found.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            environments = [{"extra": extra} for extra in wanted] or [{"extra": ""}]
            if requirement.marker and not any(
                requirement.marker.evaluate(environment) for environment in environments
            ):
                continue
            pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return found


def installed_bytes(names: set[str]) -> int:
    """The size on disk of the installed distributions' files."""
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            located = Path(file.locate())
            if located.is_file():
                total += located.stat().st_size
    return total


def dependencies(root: Path) -> dict[str, dict]:
    """Per package: the distributions it imports plus its server, all they pull in, their size."""
    extras = requested_extras(root)
    found = {}
    for framework, server in SERVERS.items():
        direct = imported_distributions(root / f"{framework}_books") | {server}
        everything = closure(direct, extras)
        found[framework] = {
            "direct": sorted(direct),
            "all": sorted(everything),
            "installed_bytes": installed_bytes(everything),
        }
    return found


def versions() -> dict[str, str]:
    """The versions of the frameworks, libraries and servers measured."""
    return {name: metadata.version(name) for name in VERSIONS}
