"""The folders' dependency order of ARCHITECTURE.md, checked on the source."""

import ast
import pathlib

import pytest

from keras_dvae import models, zoo

pytestmark = pytest.mark.backend_independent

ROOT = pathlib.Path(__file__).resolve().parents[1] / "keras_dvae"
#: ARCHITECTURE.md's order: each folder imports only from folders before it.
ORDER = [
    "version",
    "utils",
    "smoothing",
    "distributions",
    "layers",
    "priors",
    "likelihoods",
    "networks",
    "estimators",
    "schedules",
    "models",
    "evaluation",
    "callbacks",
    "datasets",
    "recipes",
    "training",
    "zoo",
    "_zoo_presets",
    "cli",
]


def _imports(path):
    """The keras_dvae folders a module imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "keras_dvae" and len(parts) > 1 and parts[1] in ORDER:
                found.add(parts[1])
    return found


def test_no_folder_imports_one_above_it():
    violations = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts == ("__init__.py",):
            continue  # the package's own __init__ exports everything
        folder = relative.parts[0].removesuffix(".py")
        assert folder in ORDER, f"{relative}: add its folder to ORDER"
        for target in _imports(path):
            if ORDER.index(target) > ORDER.index(folder):
                violations.append(f"{relative} imports keras_dvae.{target}")
    assert not violations, violations


def test_presets_reach_the_zoo_through_its_registration():
    assert models.DVAEPP.presets() == zoo.loading.presets_of(models.DVAEPP)


def test_a_missing_configured_backend_falls_back_to_an_installed_one(
    tmp_path, monkeypatch
):
    # pip install 'keras-dvae[jax]' with Keras's default (TensorFlow) backend:
    # keras_dvae picks JAX, with a warning, rather than failing on import.
    from keras_dvae.utils import backend_choice
    from keras_dvae.utils.warnings import KerasDVAEWarning

    (tmp_path / "keras.json").write_text('{"backend": "tensorflow"}')
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    present = {"jax", "torch"}
    environ = {}
    with pytest.warns(KerasDVAEWarning, match="tensorflow is not installed"):
        chosen = backend_choice.choose_backend(environ, {}, present.__contains__)
    assert chosen == "jax" and environ == {"KERAS_BACKEND": "jax"}
    # Left alone: an explicit KERAS_BACKEND, Keras already imported, or an
    # installed configured backend.
    assert backend_choice.choose_backend({"KERAS_BACKEND": "torch"}, {}) is None
    assert backend_choice.choose_backend({}, {"keras": None}) is None
    environ = {}
    assert backend_choice.choose_backend(environ, {}, lambda p: True) is None
    assert environ == {}


def _python(code, **env):
    import os
    import subprocess
    import sys

    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=True,
    )


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_no_tensorflow_import_on_other_backends(backend):
    # Keras probes TensorFlow in set_random_seed and serialize_keras_object;
    # on JAX/torch that import printed absl/oneDNN/CUDA lines (and cost
    # seconds). A model seeded, built, run and serialised leaves it unloaded.
    pytest.importorskip(backend)
    code = (
        "import sys, keras, numpy as np, keras_dvae\n"
        "keras.utils.set_random_seed(0)\n"
        "m = keras_dvae.models.DVAEPP(image_shape=(8,), num_latents=4,"
        " hidden_units=(4,), num_chains=4, gibbs_sweeps=1)\n"
        "m.compile(); m.fit(np.ones((4, 8), 'float32'), epochs=1, verbose=0)\n"
        "keras.saving.serialize_keras_object(m)\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = _python(code, KERAS_BACKEND=backend)
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert "oneDNN" not in result.stderr and "absl" not in result.stderr


def test_the_console_script_answers_help_without_importing_keras():
    # The `keras-dvae` console script defers the package's imports (seconds
    # of Keras) to the command; `--help` needs none of them.
    code = (
        "import sys\n"
        "sys.argv[0] = '/venv/bin/keras-dvae'\n"
        "import keras_dvae.cli\n"
        "print('keras' in sys.modules)\n"
        "try:\n"
        "    keras_dvae.cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('keras' in sys.modules)\n"
    )
    lines = _python(code).stdout.splitlines()
    assert lines[0] == "False" and lines[-1] == "False"
    assert any("keras-dvae train" in line for line in lines)


def test_the_project_names_no_file_outside_it():
    # A clone has no ../shared notes (only the data folder may live there,
    # and the loaders download it otherwise): what the code and docs need is
    # restated in METHODS.md, ARCHITECTURE.md and CONTRIBUTING.md.
    import re

    project = ROOT.parent
    outside = re.compile(r"\.\./shared/(?!data)|REFERENCE\.md|DEVELOPERS\.md|STYLE\.md")
    roots = ["keras_dvae", "tests", "benchmarks", "applications", "zoo", "scripts"]
    paths = [p for r in roots for p in (project / r).rglob("*") if p.is_file()]
    paths += list(project.glob("*.md")) + [project / "constraints.txt"]
    found = []
    for path in paths:
        if path.suffix not in (".py", ".md", ".txt", ".sh", ".toml") or path == (
            pathlib.Path(__file__)
        ):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if outside.search(line):
                found.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
    for name in ("METHODS.md", "ARCHITECTURE.md", "CONTRIBUTING.md", "README.md"):
        assert (project / name).is_file()
