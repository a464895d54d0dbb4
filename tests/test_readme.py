"""The Python examples of the READMEs run as written (scaled down).

Every ```python block of the files below is executed in a fresh namespace,
from the repository root (so `../shared/data` is the data folder). Only the
budgets change: each file lists the exact substrings it replaces (epochs,
K), and the test fails if one of them is gone, so the list cannot drift
from the text. Blocks that read the benchmark data skip without it.
"""

import os
import pathlib
import re

import pytest

from tests.helpers import DATA_DIR, need_data

ROOT = pathlib.Path(__file__).resolve().parents[1]

#: file → ((text in the README, what the test runs instead), ...).
SCALED = {
    "README.md": (
        ("epochs=150, batch_size=100", "epochs=1, batch_size=500"),
        ("data.x_test, num_samples=1000", "data.x_test[:20], num_samples=10"),
        (
            "ll = model.log_likelihood(x, num_samples=1000)",
            "ll = model.log_likelihood(x[:5], num_samples=10)",
        ),
        ("epochs=20, batch_size=100)", "epochs=1, batch_size=500, verbose=0)"),
    ),
    "zoo/README.md": (),
    "applications/README.md": (
        (
            "vae.fit(x, epochs=10, batch_size=100)",
            "vae.fit(x[:1000], epochs=1, batch_size=500)",
        ),
        (
            "classifier.fit(x_labelled, y_labelled, epochs=20)",
            "classifier.fit(x_labelled[:200], y_labelled[:200], verbose=0)",
        ),
        (".predict(x)", ".predict(x[:100], verbose=0)"),
    ),
}

BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks():
    for name, replacements in SCALED.items():
        text = (ROOT / name).read_text()
        for i, block in enumerate(BLOCK.findall(text)):
            yield pytest.param(name, block, replacements, id=f"{name}:{i}")


@pytest.mark.end_to_end
@pytest.mark.parametrize("name, block, replacements", list(_blocks()))
def test_readme_example_runs(name, block, replacements, monkeypatch):
    text = (ROOT / name).read_text()
    for old, new in replacements:
        assert old in text, f"{name} no longer contains {old!r}: update SCALED"
        block = block.replace(old, new)
    if "../shared/data" in block:
        need_data()
        block = block.replace("../shared/data", str(DATA_DIR))
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": f"readme_{os.path.basename(name)}"}
    exec(compile(block, f"<{name}>", "exec"), namespace)
