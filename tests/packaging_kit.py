"""Tools for tests/test_packaging.py: the repository's distributions, their dependency closure, offline wheels.

* :func:`projects` lists the distributions: the core at the root, then every ``plugins/*`` with a
  pyproject.toml (found generically, so a new plugin is covered without touching the tests).
* :func:`closure` walks declared requirements (with extras and markers) through this test environment's
  installed distributions and says clearly which are missing or too old.
* :func:`repack` turns an installed distribution back into a wheel from its RECORD, so fresh virtualenvs
  install the very versions this environment runs, offline (``--no-index --find-links``), without touching
  anything outside the test's temporary folder.
* :func:`install_commands` finds every ``pip install`` command a README gives a reader.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import os
import re
import shlex
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
JUNK = {"__pycache__", ".pytest_cache", ".ruff_cache", ".tox", ".venv", "dist", "build"}


@dataclass(frozen=True)
class Project:
    """One distribution of the repository: its folder, name, import package and pyproject table."""

    path: Path
    name: str
    package: str
    pyproject: dict

    @property
    def is_core(self) -> bool:
        return self.path == ROOT

    @property
    def label(self) -> str:
        return "core" if self.is_core else self.path.name

    @property
    def source_dirs(self) -> list[Path]:
        """The folders whose files the sdist must carry."""
        if self.is_core:
            return [ROOT / "core" / "tocsin", ROOT / "templates", ROOT / "tests"]
        return [self.path / self.package, self.path / "tests"]

    @property
    def channels(self) -> set[str]:
        """The channel names of the project's ``tocsin`` entry points."""
        return set(self.pyproject["project"].get("entry-points", {}).get("tocsin", {}))


def projects() -> list[Project]:
    """The core, then every plugin folder with a pyproject.toml, sorted by name."""
    found = []
    for path in [ROOT, *sorted(p for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").is_file())]:
        data = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))
        packages = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
        package = Path(packages.get("packages", [data["project"]["name"].replace("-", "_")])[0]).name
        found.append(Project(path, data["project"]["name"], package, data))
    return found


def source_files(folder: Path) -> set[str]:
    """Files under ``folder`` (paths relative to it), without caches and build output."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not JUNK.intersection(p.relative_to(folder).parts) and p.suffix != ".pyc"
    }


def wheel_metadata(wheel: Path) -> dict[str, list[str]]:
    """The METADATA fields of a wheel, each as the list of its values."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(name).decode())
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields


def requirements(fields: dict[str, list[str]], extras: set[str]) -> list[Requirement]:
    """The Requires-Dist entries of ``fields`` that apply with ``extras`` on this interpreter."""
    chosen = []
    for line in fields.get("Requires-Dist", []):
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            chosen.append(req)
    return chosen


def closure(roots: list[tuple[str, str]], ours: dict[str, dict[str, list[str]]]) -> tuple[dict, list[str]]:
    """Third-party distributions needed by ``roots`` ((requirement, who asks) pairs), from this environment.

    ``ours`` maps our distributions' names to their built METADATA: their requirements are followed, but
    they are not part of the answer (fresh environments get them from the built wheels). Returns the
    installed distributions by canonical name, and the problems (missing, or a version that does not fit).
    """
    found: dict[str, md.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    problems: list[str] = []
    queue = [(Requirement(text), who) for text, who in roots]
    while queue:
        req, who = queue.pop()
        name = canonicalize_name(req.name)
        if (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        if name in ours:
            queue += [(r, req.name) for r in requirements(ours[name], set(req.extras))]
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            problems.append(f"{req} (needed by {who}) is not installed here (bash .ci/run or tox -e all installs it)")
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            problems.append(f"{req} (needed by {who}): this environment has {dist.version}")
        found[name] = dist
        fields = {k: dist.metadata.get_all(k) or [] for k in ("Requires-Dist",)}
        queue += [(r, req.name) for r in requirements(fields, set(req.extras))]
    return found, problems


def repack(dist: md.Distribution, into: Path) -> Path:
    """Write the installed ``dist`` back as a wheel in ``into`` (from its RECORD) and return its path."""
    files = [f for f in dist.files or [] if f.parts[0] != ".." and "__pycache__" not in f.parts]
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    skip = {f"{info}/{n}" for n in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    wheel_text = dist.read_text("WHEEL") or ""
    tag = re.search(r"^Tag: (\S+)", wheel_text, re.M)
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    target = into / f"{name}-{dist.version}-{tag.group(1) if tag else 'py3-none-any'}.whl"
    record = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for file in files:
            arcname = file.as_posix()
            path = Path(dist.locate_file(file))
            if arcname in skip or not path.is_file():
                continue
            data = path.read_bytes()
            archive.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return target


COMMAND = re.compile(r"(?:^\s*|&&\s*|`|\()((?:python3? -m )?pip install (?:(?!&&)[^\s`)#]+ ?)+)", re.M)


def install_commands(text: str) -> list[str]:
    """Every ``pip install ARGS`` that a reader is told to run: at a line's start, after ``&&``, in inline
    code or in a parenthesis; not in program output quoted mid-line (such as an error message)."""
    return [m.group(1).strip() for m in COMMAND.finditer(text)]


def first_command(readme: str) -> str:
    """The command of README's first ``sh`` code block (its first line)."""
    return re.search(r"```sh\n([^\n]+)\n", readme).group(1)


def install_args(command: str) -> list[str]:
    """The arguments after ``pip install``, split as a shell would."""
    words = shlex.split(command, comments=True)
    return words[words.index("install") + 1 :]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    """Run a subprocess with captured text output; never raises on a non-zero exit."""
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def offline_env(wheelhouse: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for pip offline: no index, no config file, only the wheelhouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1")
    if wheelhouse is not None:
        env["PIP_FIND_LINKS"] = str(wheelhouse)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env
