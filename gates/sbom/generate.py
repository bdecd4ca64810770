"""Where a project's SBOM comes from, and generating it with cyclonedx-py.

`source: auto` (the default) picks, at the repository root: `poetry.lock`, then `Pipfile.lock`,
then `requirements.txt`, then the dependencies of `pyproject.toml`, else the Python environment
gates runs in. Lock and requirements files are read without network or installation; the
environment source imports nothing but asks the interpreter for its installed distributions,
which is slow on large environments (8 s for 101 packages), hence last.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gates.errors import InputError
from gates.util.files import repo_file
from gates.util.proc import python_tool, run_tool
from gates.util.yamlfile import read_input_text

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LOCK_FILES = {"poetry": "poetry.lock", "pipenv": "Pipfile.lock"}
DEFAULT_SPEC_VERSION = "1.6"

# Lists name==version of every distribution the interpreter sees: a cheap fingerprint of an
# environment, so an unchanged environment is not inventoried twice.
_LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m; "
    "print('\\n'.join(sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions())))"
)


@dataclass(frozen=True)
class SbomSource:
    kind: str
    """file, environment, requirements, poetry, pipenv, pyproject, or none (auto found no manifest)."""
    path: Path
    """The SBOM file, requirements file, project directory, pyproject.toml or Python interpreter."""
    pyproject: Path | None = None
    """The project's pyproject.toml, for the SBOM's root component (name, version, licence)."""
    spec_version: str = DEFAULT_SPEC_VERSION
    includes: tuple[Path, ...] = ()
    """Files a requirements file pulls in with -r or -c (each checked to lie in the repository)."""

    def describe(self, root: Path) -> str:
        try:
            return f"{self.kind}:{self.path.relative_to(root).as_posix() or '.'}"
        except ValueError:
            return f"{self.kind}:{self.path}"


def _auto(root: Path) -> tuple[str, Path]:
    for name, kind in (
        ("poetry.lock", "poetry"),
        ("Pipfile.lock", "pipenv"),
        ("requirements.txt", "requirements"),
        ("pyproject.toml", "pyproject"),
    ):
        if os.path.lexists(root / name) and repo_file(root, name, "sbom source auto").is_file():
            return kind, root / name if kind in ("requirements", "pyproject") else root
    # No manifest: the repository declares no Python dependency, so the SBOM lists none. The
    # interpreter's environment is not the repository's; inventory it with `source: environment`.
    return "none", root


def resolve_source(root: Path, settings: Mapping[str, Any]) -> SbomSource:
    """The SBOM source an `sbom:` policy block names (paths relative to the repository root)."""
    root = root.resolve()
    spec_version = str(settings.get("spec_version", DEFAULT_SPEC_VERSION))
    if "file" in settings:
        path = repo_file(root, settings["file"], "policy sbom.file")
        return SbomSource("file", path, spec_version=spec_version)
    kind = settings.get("source", "auto")
    if kind == "auto":
        kind, path = _auto(root)
    elif kind == "environment":
        path = Path(settings["python"]) if "python" in settings else Path(sys.executable)
    else:
        default = {"requirements": "requirements.txt", "pyproject": "pyproject.toml"}.get(kind, ".")
        path = repo_file(root, settings.get("path", default), f"policy sbom.source {kind}")
    if kind != "environment" and not path.exists():
        raise InputError(f"policy sbom.source {kind}: {path} does not exist")
    if kind in LOCK_FILES:  # the tool reads the lock file and pyproject.toml of the folder
        for name in (LOCK_FILES[kind], "pyproject.toml"):
            if path.is_relative_to(root) and os.path.lexists(path / name):
                repo_file(root, path.relative_to(root) / name, f"policy sbom.source {kind}")
    pyproject = repo_file(root, "pyproject.toml", "pyproject.toml")
    in_repository = kind == "requirements" and path.is_relative_to(root)
    includes = tuple(_included(root, path)) if in_repository else ()
    if kind == "pyproject" and path.is_relative_to(root):
        for number, line in enumerate(_pyproject_requirements(path).splitlines()):
            local = _local_target(line)
            if local is not None:
                where = f"{path.relative_to(root).as_posix()}: project.dependencies[{number}]"
                _confined(root, path, local, where)
    return SbomSource(kind, path, pyproject if pyproject.is_file() else None, spec_version, includes)


_INCLUDE = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^\s=-]))(\S+)")
_PATH_OPTION = re.compile(r"^\s*(?:-e|--editable|-f|--find-links)(?:\s*=\s*|\s+|(?=[^\s=-]))(\S+)")
_DIRECT_URL = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@\s*(\S+)")


def _local_target(line: str) -> str | None:
    """The local file or folder a requirements line refers to (`-e ../lib`, `./pkg`,
    `name @ file:...`, `file:///x.whl`, `-f ../wheels`), or None for a requirement by name or a
    remote URL."""
    line = line.split(" #", 1)[0].strip()
    if not line or line.startswith("#"):
        return None
    match = _PATH_OPTION.match(line) or _DIRECT_URL.match(line)
    target = match.group(1) if match else line.split()[0].split(";", 1)[0]
    if target.startswith("file:"):
        return unquote(urlsplit(target).path) or "/"
    if "://" in target or target.startswith("-") or (match is None and not _LOOKS_LIKE_PATH.match(target)):
        return None
    return target.split("#", 1)[0]


_LOOKS_LIKE_PATH = re.compile(r"^(?:\.{1,2}(?:/|$)|/|~)|/")


def _confined(root: Path, requirements: Path, target: str, where: str) -> Path:
    """The repository path `target` (relative to the requirements file's folder) refers to;
    InputError when it lies outside the repository (absolute, `~`, `..` or a link leading out)."""
    if Path(target).is_absolute() or target.startswith("~"):
        raise InputError(f"{where}: refers to {target}, outside the repository")
    return repo_file(root, (requirements.parent / target).relative_to(root), where)


def _included(root: Path, requirements: Path, seen: frozenset[Path] = frozenset()) -> list[Path]:
    """The files `requirements` includes (-r, -c), recursively: cyclonedx-py reads them too, so
    each must be a file of the repository; an include by URL would be fetched from the network.
    Every other local reference (an editable or path requirement, a `file:` URL, find-links) must
    lie in the repository too: the SBOM names nothing of the runner's disk."""
    found: list[Path] = []
    text = read_input_text(requirements)
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{requirements.relative_to(root).as_posix()}:{number}"
        match = _INCLUDE.match(line)
        if match is None:
            local = _local_target(line)
            if local is not None:
                _confined(root, requirements, local, where)
            continue
        target = match.group(1)
        if "://" in target or Path(target).is_absolute():
            raise InputError(f"{where}: includes {target}, which is not a file of the repository")
        included = repo_file(root, (requirements.parent / target).relative_to(root), where)
        if included not in seen and included != requirements:
            found += [included, *_included(root, included, seen | {requirements})]
    return found


def _hash_files(*paths: Path | None) -> str:
    h = hashlib.sha256()
    for path in paths:
        if path is not None and path.is_file():
            h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def input_digest(source: SbomSource, timeout: float) -> str:
    """A hash of everything the SBOM is generated from."""
    if source.kind == "environment":
        listing = run_tool([str(source.path), "-c", _LIST_DISTRIBUTIONS], timeout=timeout).stdout
        material = f"{source.path}\n{listing}"
    elif source.kind in ("poetry", "pipenv"):
        lock = "poetry.lock" if source.kind == "poetry" else "Pipfile.lock"
        material = _hash_files(source.path / lock, source.path / "pyproject.toml", source.pyproject)
    elif source.kind == "none":
        material = ""
    else:
        material = _hash_files(source.path, *source.includes, source.pyproject)
    key = f"{source.kind}\0{source.spec_version}\0{material}"
    return hashlib.sha256(key.encode()).hexdigest()


def _pyproject_requirements(path: Path) -> str:
    """The PEP 621 dependencies of a pyproject.toml, as requirements-file lines."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: cannot read pyproject.toml: {e}") from e
    dependencies = data.get("project", {}).get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise InputError(f"{path}: project.dependencies must be a list of strings")
    return "".join(f"{d}\n" for d in dependencies)


def generate(source: SbomSource, timeout: float) -> bytes:
    """Run cyclonedx-py for the source and return the CycloneDX JSON it wrote."""
    tool = python_tool("cyclonedx_py", "cyclonedx-bom")
    stdin = None
    if source.kind == "environment":
        args = ["environment", str(source.path)]
    elif source.kind in ("poetry", "pipenv"):
        args = [source.kind, str(source.path)]
    elif source.kind == "requirements":
        args = ["requirements", str(source.path)]
    elif source.kind == "none":
        args, stdin = ["requirements", "-"], ""
    else:  # pyproject: its dependencies, read as a requirements file
        args, stdin = ["requirements", "-"], _pyproject_requirements(source.path)
    if source.pyproject is not None and source.kind != "poetry":
        args += ["--pyproject", str(source.pyproject)]
    with tempfile.TemporaryDirectory(prefix="gates-sbom-") as tmp:
        out = Path(tmp) / "sbom.cdx.json"
        # Validation is left to the reader, so an invalid SBOM becomes a finding, not a crash.
        args += [
            "--sv",
            source.spec_version,
            "--of",
            "JSON",
            "--output-reproducible",
            "--no-validate",
            "-o",
            str(out),
        ]
        cwd = source.path if source.path.is_dir() else source.path.parent
        run_tool([*tool, *args], timeout=timeout, cwd=cwd, stdin=stdin)
        return out.read_bytes()
