"""The wheel ships every package and every preset folder.

pyproject.toml lists the packages by hand (so that the top-level zoo/ can
be mapped to `keras_dvae._zoo_presets`); the fast test checks that list
against the source tree, the slow one builds the wheel and loads every
preset from it, away from the checkout. Packaging does not depend on the
Keras backend (loading each preset on every backend is tests/zoo/test_zoo.py's
job): these tests run once.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

from keras_dvae import zoo

ROOT = pathlib.Path(__file__).parents[2]
tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
pytestmark = pytest.mark.backend_independent


def test_every_package_is_listed():
    with open(ROOT / "pyproject.toml", "rb") as f:
        setuptools = tomllib.load(f)["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "keras_dvae").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert set(setuptools["packages"]) == found | {zoo.PACKAGE}
    assert setuptools["package-dir"] == {zoo.PACKAGE: "zoo"}


@pytest.mark.slow
def test_wheel_ships_and_loads_the_presets(tmp_path):
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    shutil.copytree(ROOT / "keras_dvae", source / "keras_dvae", ignore=ignore)
    shutil.copytree(ROOT / "zoo", source / "zoo", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # No build isolation: builds offline with the environment's setuptools.
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", str(source), "--no-deps"),
            *("--no-build-isolation", "-q", "-w", str(tmp_path / "wheel")),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    presets = zoo.list_presets()
    for name in presets:
        for path in zoo.preset_dir(name).iterdir():
            assert f"keras_dvae/_zoo_presets/{name}/{path.name}" in names

    script = (
        "import json, keras_dvae\n"
        "from keras_dvae import zoo\n"
        "models = {n: type(zoo.load(n)).__name__ for n in zoo.list_presets()}\n"
        "print(json.dumps({'file': keras_dvae.__file__,\n"
        "                  'dirs': [str(d) for d in zoo.search_dirs()],\n"
        "                  'models': models}))\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != zoo.ENV_VAR}
    env["PYTHONPATH"] = str(tmp_path / "site")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    site = tmp_path / "site" / "keras_dvae"
    assert pathlib.Path(report["file"]).parent == site
    assert report["dirs"] == [str(site / "_zoo_presets")]
    assert sorted(report["models"]) == presets
