"""Packaging as a packager and a new user meet it (issue 16).

Every distribution (the core and each ``plugins/*``, found generically) is built once per session, as an
sdist and a wheel built from that sdist (``python -m build --no-isolation``: build and hatchling come
from requirements-dev.txt). The tests read the file lists (licence, ``py.typed``, templates and tests
where they belong, nothing stray), install each distribution alone from the wheels into a fresh
virtualenv outside the checkout and run its tests from its unpacked sdist, and run every ``pip install``
command of README.md and plugins/*/README.md from a clean copy of the checkout. All of it offline: the
third-party wheels are repacked from this test environment's own installed distributions.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .packaging_kit import (
    ROOT,
    Project,
    closure,
    first_command,
    install_args,
    install_commands,
    offline_env,
    projects,
    repack,
    run,
    source_files,
    wheel_metadata,
)

pytestmark = [
    pytest.mark.skipif(
        not (ROOT / "plugins").is_dir(), reason="checks the repository's distributions: needs a checkout, not an sdist"
    ),
    # Building every distribution and running each one's suite again from its sdist doubles the run time:
    # .ci/run (README's test command) always sets this; a developer's quick `pytest` skips it.
    pytest.mark.skipif(
        os.environ.get("TOCSIN_PACKAGING_TESTS") != "1",
        reason="packaging suite: set TOCSIN_PACKAGING_TESTS=1 (bash .ci/run does)",
    ),
]
PROJECTS = projects() if (ROOT / "plugins").is_dir() else []
PLUGINS = [p for p in PROJECTS if not p.is_core]
LICENSE = (ROOT / "LICENSE").read_bytes() if (ROOT / "LICENSE").exists() else b""
READMES = [ROOT / "README.md", *sorted((ROOT / "plugins").glob("*/README.md"))]
COMMANDS = sorted({c for r in READMES for c in install_commands(r.read_text(encoding="utf-8"))})
# What the core's own tests use beyond its [testing,aiohttp] extras: pip and hatchling (test_wheel builds
# the core), build (the PLUGINS.md publishing example).
CORE_TEST_TOOLS = ["pip", "hatchling", "build"]
# hatchling's editable-install requirement, for the READMEs' `pip install -e` lines under build isolation.
EDITABLE_BACKEND = ["editables"]


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fresh_venv(where: Path) -> Path:
    """A virtualenv without pip (made in well under a second); pip runs on it from outside (--python)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120)
    return python_of(where)


def pip_into(python: Path, wheelhouse: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pip install ARGS`` into the venv of ``python``, offline, from ``wheelhouse``."""
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args]
    return run(pip, cwd, offline_env(wheelhouse))


def channels_of(python: Path, cwd: Path) -> set[str]:
    """The channel names ``tocsin channels --json`` lists in the venv of ``python``."""
    result = run([str(python), "-m", "tocsin", "channels", "--json"], cwd, offline_env())
    assert result.returncode == 0, result.stderr
    return {c["name"] for c in json.loads(result.stdout)["channels"]}


def importlib_missing(name: str) -> bool:
    """Whether this test environment lacks the distribution ``name``."""
    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        return True
    return False


# -- fixtures: built once per session ---------------------------------------------------------------
@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every distribution's sdist and wheel, built once: {label: {"sdist", "wheel", "metadata"}}."""
    for tool in ("build", "hatchling"):
        if importlib_missing(tool):
            pytest.fail(f"{tool} is not installed in this test environment: pip install -r requirements-dev.txt")
    out = tmp_path_factory.mktemp("dist")

    def build(project: Project) -> dict:
        where = out / project.label
        result = run([sys.executable, "-m", "build", "--no-isolation", "-o", str(where), str(project.path)], ROOT)
        assert result.returncode == 0, f"{project.label} does not build:\n{result.stdout[-3000:]}{result.stderr}"
        (sdist,) = where.glob("*.tar.gz")
        (wheel,) = where.glob("*.whl")
        shutil.copy(wheel, out)
        return {"sdist": sdist, "wheel": wheel, "metadata": wheel_metadata(wheel)}

    with ThreadPoolExecutor(2) as pool:
        return dict(zip([p.label for p in PROJECTS], pool.map(build, PROJECTS), strict=True))


@pytest.fixture(scope="session")
def wheelhouse(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Third-party wheels for every requirement of every distribution (all extras), their build backends
    and the core tests' tools, repacked from this environment. Our own wheels are not in it."""
    ours = {p.name: built[p.label]["metadata"] for p in PROJECTS}
    roots = [
        (f"{p.name}[{','.join(p.pyproject['project'].get('optional-dependencies', {}))}]", "all") for p in PROJECTS
    ]
    roots += [(r, "build-system") for p in PROJECTS for r in p.pyproject["build-system"]["requires"]]
    roots += [(r, "the core's tests") for r in CORE_TEST_TOOLS] + [(r, "pip install -e") for r in EDITABLE_BACKEND]
    found, problems = closure(roots, ours)
    assert not problems, "the distributions need what this environment lacks:\n" + "\n".join(problems)
    house = tmp_path_factory.mktemp("wheelhouse")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda d: repack(d, house), found.values()))
    return house


@pytest.fixture(scope="session")
def sdist_runs(built, wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future]:
    """For each distribution, started at once two at a time: install it alone from the wheels into a fresh
    venv outside the checkout, list its channels, run its tests from its unpacked sdist, uninstall it."""
    top = tmp_path_factory.mktemp("alone")
    links = built[PROJECTS[0].label]["wheel"].parent.parent  # every built wheel is copied there

    def alone(project: Project) -> dict:
        home = top / project.label
        python = fresh_venv(home / "venv")
        extras = "testing,aiohttp" if project.is_core else "test"
        wheel = built[project.label]["wheel"]
        tools = CORE_TEST_TOOLS if project.is_core else []
        installed = pip_into(python, wheelhouse, "--find-links", str(links), f"{wheel}[{extras}]", *tools, cwd=home)
        if installed.returncode:
            return {"install": installed}
        with tarfile.open(built[project.label]["sdist"]) as archive:
            archive.extractall(home, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(home)
        (unpacked,) = [p for p in home.iterdir() if p.is_dir() and p.name != "venv"]
        env = offline_env(wheelhouse)
        listed = run([sys.executable, "-m", "pip", "--python", str(python), "list", "--format=json"], home, env)
        channels = channels_of(python, home)
        # sys.path[0] would be the sdist's folder, whose package copy must not shadow the installed one.
        where = f"import sys; del sys.path[0]; import {project.package}; print({project.package}.__file__)"
        origin = run([str(python), "-c", where], unpacked, env)
        pytest_main = "import sys; del sys.path[0]; import pytest; sys.exit(pytest.main(sys.argv[1:]))"
        tests = run([str(python), "-c", pytest_main, "-q", "-p", "no:cacheprovider", "-x"], unpacked, env, timeout=900)
        after = None
        if not project.is_core:
            uninstall = [sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-y", "-q", project.name]
            run(uninstall, home, env)
            after = channels_of(python, home)
        dists = {d["name"].lower() for d in json.loads(listed.stdout or "[]")}
        return {
            "install": installed,
            "dists": dists,
            "channels": channels,
            "origin": origin,
            "tests": tests,
            "after": after,
            "venv": home / "venv",
        }

    pool = ThreadPoolExecutor(2)
    runs = {p.label: pool.submit(alone, p) for p in PROJECTS}
    yield runs
    pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the checkout: the files git tracks or would track (nothing ignored, no .venv)."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    if listed.returncode:
        pytest.skip("a clean copy of the checkout needs git")
    copy = tmp_path_factory.mktemp("checkout")
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


# -- the source tree -------------------------------------------------------------------------------
def test_every_plugin_folder_is_complete() -> None:
    """A licence, a README, tests, py.typed and a tox environment in each plugin folder (new ones too)."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    envs = tox["tox"]["env_list"].replace(",", " ").split()
    problems = []
    for p in PLUGINS:
        here = p.path.relative_to(ROOT)
        if not (p.path / "LICENSE").is_file() or (p.path / "LICENSE").read_bytes() != LICENSE:
            problems.append(f"{here}/LICENSE: missing or not the root's Apache-2.0 text (cp LICENSE {here}/)")
        problems += [
            f"{here}/{f}: missing" for f in ("README.md", "tests", f"{p.package}/py.typed") if not (p.path / f).exists()
        ]
        short = p.path.name.removeprefix("tocsin-")
        if short not in envs or f"plugins/tocsin-{short}[test]" not in tox["testenv:all"]["commands_pre"]:
            problems.append(f"tox.ini: no '{short}' environment, or the 'all' environment does not install {here}")
        addopts = p.pyproject.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("addopts", "")
        if "--import-mode=importlib" not in addopts:
            problems.append(
                f"{here}/pyproject.toml: no [tool.pytest.ini_options] with --import-mode=importlib, "
                "so its tests may not run from its sdist (copy the table from plugins/tocsin-discord)"
            )
        if p.pyproject["project"].get("license") != "Apache-2.0":
            problems.append(f'{here}/pyproject.toml: license = "Apache-2.0" expected')
    assert LICENSE.startswith(b"\n                                 Apache License\n"), "LICENSE: not Apache-2.0"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.label)
def test_code_declares_what_it_imports(project: Project) -> None:
    """Each import names a declared requirement (the package: its dependencies and feature extras; the
    tests: anything declared, their [test] extra included), the standard library or the project itself."""
    owners = md.packages_distributions()
    data = project.pyproject["project"]
    extras = data.get("optional-dependencies", {})
    runtime = [*data.get("dependencies", []), *(r for k, v in extras.items() if k != "test" for r in v)]
    everything = [*runtime, *extras.get("test", [])]
    if any(r.startswith("tocsin[testing]") for r in everything):
        everything += PROJECTS[0].pyproject["project"]["optional-dependencies"]["testing"]
    if project.is_core:  # the project's own tests run with the dev set
        dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
        everything += [line for line in dev if line.strip() and not line.startswith(("#", "-"))]
    problems = []
    for folder, allowed in ((project.source_dirs[0], runtime), (project.path / "tests", everything)):
        declared = {canonicalize_name(Requirement(r).name) for r in allowed}
        for file in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for top in {n.split(".")[0] for n in names}:
                    if top in sys.stdlib_module_names or top in {project.package, "tocsin", "__future__"}:
                        continue
                    dists = {canonicalize_name(d) for d in owners.get(top, [top])}
                    if not dists & declared:
                        problems.append(
                            f"{file.relative_to(ROOT)}: imports {top} ({'/'.join(sorted(dists))}), "
                            f"not declared in {project.path.relative_to(ROOT) / 'pyproject.toml'}"
                        )
    assert not problems, "\n".join(sorted(set(problems)))


# -- what each distribution ships ------------------------------------------------------------------
@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.label)
def test_sdist_ships_its_sources_and_nothing_else(project: Project, built) -> None:
    with tarfile.open(built[project.label]["sdist"]) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n and archive.getmember(n).isfile()}
        licence = archive.extractfile(next(m for m in archive.getmembers() if m.name.endswith("/LICENSE"))).read()
    expected = {"pyproject.toml", "PKG-INFO", "README.md", "LICENSE"} | ({"PLUGINS.md"} if project.is_core else set())
    for folder in project.source_dirs:
        expected |= {f"{folder.relative_to(project.path).as_posix()}/{f}" for f in source_files(folder)}
    shipped = names - {".gitignore"}
    assert not expected - shipped, f"{project.label} sdist lacks: {sorted(expected - shipped)}"
    assert not shipped - expected, f"{project.label} sdist ships stray files: {sorted(shipped - expected)}"
    assert licence == LICENSE
    if project.is_core:
        assert not {n for n in names if n.startswith(("plugins/", "bench/"))}
        assert {"tests/conftest.py", "templates/console/default.txt.j2", "core/tocsin/py.typed"} <= names


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.label)
def test_wheel_ships_the_package_licence_and_py_typed(project: Project, built) -> None:
    wheel = built[project.label]["wheel"]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence) == LICENSE
    package = {n for n in names if ".dist-info/" not in n}
    expected = {f"{project.package}/{f}" for f in source_files(project.source_dirs[0])}
    if project.is_core:
        expected |= {f"tocsin/templates/{f}" for f in source_files(ROOT / "templates")}
    assert package == expected, (sorted(expected - package), sorted(package - expected))
    assert f"{project.package}/py.typed" in package
    metadata = built[project.label]["metadata"]
    assert metadata["License-Expression"] == ["Apache-2.0"] and metadata["License-File"] == ["LICENSE"]
    if not project.is_core:
        assert any(n.startswith(f"{project.package}/templates/") for n in package), "a channel ships templates"


def test_published_extras_are_for_users(built) -> None:
    """The core publishes `testing` and `aiohttp`; the project's dev tools are in requirements-dev.txt."""
    core = built["core"]["metadata"]
    assert sorted(core["Provides-Extra"]) == ["aiohttp", "testing"]
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    leaked = {r.split(";")[0] for r in core.get("Requires-Dist", [])} & {"ruff", "hatchling", "build", "twine"}
    assert not leaked
    assert all(f"\n{tool}" in dev for tool in ("ruff", "build", "hatchling", "twine", "standardwebhooks"))


def test_twine_check_strict_passes(built) -> None:
    if importlib_missing("twine"):
        pytest.fail("twine is not installed in this test environment: pip install -r requirements-dev.txt")
    files = [str(b[kind]) for b in built.values() for kind in ("sdist", "wheel")]
    result = run([sys.executable, "-m", "twine", "check", "--strict", *files], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# -- installed alone, tested from the sdist ---------------------------------------------------------
@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.label)
def test_installs_alone_and_passes_its_tests_from_its_sdist(project: Project, sdist_runs) -> None:
    outcome = sdist_runs[project.label].result()
    installed = outcome["install"]
    assert installed.returncode == 0, f"{project.label} does not install alone:\n{installed.stderr[-3000:]}"
    others = {p.name for p in PLUGINS if p is not project}
    assert project.name in outcome["dists"] and "tocsin" in outcome["dists"]
    assert not others & outcome["dists"], "another plugin came along"
    assert outcome["origin"].stdout.strip().startswith(str(outcome["venv"])), outcome["origin"].stderr
    assert outcome["channels"] == project.channels | {"console"}
    tests = outcome["tests"]
    assert tests.returncode == 0, f"{project.label}'s tests fail from its sdist:\n{tests.stdout[-4000:]}{tests.stderr}"
    assert " passed" in tests.stdout and "error" not in tests.stdout.splitlines()[-1]
    if not project.is_core:
        assert outcome["after"] == {"console"}, "uninstalling the plugin leaves its channels behind"


# -- every install command of the READMEs, from a clean checkout ------------------------------------
@pytest.fixture(scope="session")
def readme_installs(checkout, wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future]:
    """Each README install command run as written in its own fresh venv at the checkout's root, two at a
    time, offline: pip finds third-party wheels only, never our own (tocsin is not on an index yet)."""
    top = tmp_path_factory.mktemp("readme")

    def install(numbered: tuple[int, str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
        home = top / str(numbered[0])
        python = fresh_venv(home / "venv")
        result = pip_into(python, wheelhouse, *install_args(numbered[1]), cwd=checkout)
        return result, (channels_of(python, home) if result.returncode == 0 else set())

    pool = ThreadPoolExecutor(2)
    runs = {command: pool.submit(install, (i, command)) for i, command in enumerate(COMMANDS)}
    yield runs
    pool.shutdown(wait=True)


@pytest.mark.parametrize("command", COMMANDS, ids=COMMANDS)
def test_readme_install_command_works_from_a_clean_checkout(command: str, readme_installs) -> None:
    """Then ``tocsin channels`` lists the channels of every plugin the command names."""
    result, channels = readme_installs[command].result()
    assert result.returncode == 0, f"`{command}` fails:\n{result.stderr[-3000:]}"
    wanted = {"console"} | {c for p in PLUGINS for c in p.channels if f"plugins/{p.path.name}" in command}
    assert wanted <= channels


def test_readme_first_command_installs_and_sends_from_a_clean_checkout(checkout, wheelhouse) -> None:
    command = first_command((ROOT / "README.md").read_text(encoding="utf-8"))
    assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . && tocsin send ")
    python3 = shutil.which("python3") or sys.executable
    env = offline_env(wheelhouse, PATH=f"{Path(python3).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = run(["bash", "-c", command], checkout, env, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Job failed: nightly-backup" in result.stdout and "disk full" in result.stdout
