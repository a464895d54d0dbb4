"""Runs every ```python block of the given Markdown files as written.

    python scripts/run_readme_blocks.py README.md zoo/README.md ...

Each block runs in a fresh Python process from the repository root (the
blocks name `../shared/data` as the data folder), with its full budgets:
`tests/test_readme.py` runs the same blocks scaled down in the test suite.
Prints one line per block (status, seconds) and exits 1 if any failed.
"""

import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def main(paths):
    failed = 0
    for path in paths:
        for i, block in enumerate(BLOCK.findall((ROOT / path).read_text())):
            start = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True
            )
            seconds = time.perf_counter() - start
            status = "ok" if result.returncode == 0 else "FAILED"
            failed += result.returncode != 0
            print(f"{path} block {i}: {status} ({seconds:.0f} s)", flush=True)
            if result.returncode:
                print(result.stderr[-3000:], flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    default = ["README.md", "zoo/README.md", "applications/README.md"]
    sys.exit(main(sys.argv[1:] or default))
