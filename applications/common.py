"""What the application modules share: arguments, machine facts, results."""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np
import sklearn

from applications import data


def parser(description):
    """An `ArgumentParser` with the arguments every module takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--dataset", default="mnist_static", choices=data.NAMES)
    p.add_argument(
        "--data-dir",
        default=os.environ.get("KERAS_DVAE_DATA"),
        help="directory of the .npz files (default $KERAS_DVAE_DATA)",
    )
    p.add_argument("--epochs", type=int, default=10, help="training epochs a model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache-dir",
        default=None,
        help="keep trained weights here and reuse them (outside the repository)",
    )
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny networks, 1 epoch, light PCD: a smoke test, not a result",
    )
    return p


def machine():
    """Facts about where the run happened."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
    }


def command(module, argv):
    """The command line that reproduces a run of `python -m module`."""
    return " ".join(
        [f"KERAS_BACKEND={keras.backend.backend()}", "python -m", module, *argv]
    )


def finish(results, module, args, argv, start):
    """Adds the run's facts to `results`, writes `args.out`, prints the
    results table, returns `results`."""
    results.update(
        {
            "command": command(module, argv),
            "arguments": vars(args),
            "machine": machine(),
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
    )
    if args.out:
        directory = os.path.dirname(args.out)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    print(results["table"])
    return results


def mean_std(values):
    """'mean ± std' of a list (std over runs, ddof 0), or the single value."""
    values = np.asarray(values, float)
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std():.4f}"
