"""Seconds to load each pretrained preset in a fresh process, per backend.

    python -m benchmarks.preset_load [--backends jax tensorflow torch] [--repeats 3]

Each measurement is a new Python process (nothing compiled or cached
before it) that imports keras_dvae, then times `zoo.load(name)`: building
the model from config.json, checking the weights' sha256 and loading them.
The import is timed apart. Prints a Markdown table of medians (seconds).
"""

import argparse
import statistics

from benchmarks.compare_versions import run_child

CHILD = r"""
import json, sys, time
start = time.perf_counter()
from keras_dvae import zoo
imported = time.perf_counter()
zoo.load(sys.argv[1])
print(json.dumps({"import": imported - start, "load": time.perf_counter() - imported}))
"""


def measure(backend, name):
    return run_child(CHILD, name, KERAS_BACKEND=backend)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow", "torch"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--presets", nargs="+")
    args = parser.parse_args(argv)
    from keras_dvae import zoo

    names = args.presets or zoo.list_presets()
    print(
        "| preset | " + " | ".join(f"{b} load (import)" for b in args.backends) + " |"
    )
    print("| --- |" + " --- |" * len(args.backends))
    for name in names:
        cells = []
        for backend in args.backends:
            runs = [measure(backend, name) for _ in range(args.repeats)]
            load = statistics.median(r["load"] for r in runs)
            imported = statistics.median(r["import"] for r in runs)
            cells.append(f"{load:.2f} ({imported:.1f})")
        print(f"| `{name}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
