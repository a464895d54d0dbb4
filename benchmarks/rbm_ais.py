"""Accuracy of `RBMPrior.ais_log_partition` against time (run on JAX).

For trained-looking n + n RBMs (`rbm_common.trained_like_rbm`: SK-like
noise plus three strong patterns, six modes), runs forward AIS with the
default (Salakhutdinov-Murray shaped) schedule over a grid of temperatures ×
chains and reports, as medians over repeats (AIS seeds): seconds, the signed
and absolute error of log Ẑ, the half-width of the ±3σ̂ interval, and the
importance weights' effective sample size.

The truth is exact enumeration for 10 + 10. For 100 + 100 and 200 + 200 it
is a long forward run, bracketed by reverse AIS (Burda et al. 2015) started
from parallel-tempering samples: forward AIS is biased low and reverse AIS
high, so a small gap between the two bounds the reference's error.

The bias-only base model is fitted to parallel-tempering samples of the RBM
(as Salakhutdinov & Murray fit it to data).

    KERAS_BACKEND=jax .venv/bin/python benchmarks/rbm_ais.py
"""

import argparse
import statistics
import time

import keras
import numpy as np
from rbm_common import describe_machine, make_prior, trained_like_rbm

LADDER = list(np.linspace(0.3, 1.0, 8))


def run_grid(prior, truth, samples, betas_grid, chains_grid, repeats, label):
    for num_betas in betas_grid:
        for num_chains in chains_grid:
            rows = []
            for seed in range(repeats):
                estimate = prior.ais_log_partition(
                    num_betas=num_betas,
                    num_chains=num_chains,
                    base_samples=samples,
                    seed=seed,
                )
                rows.append(
                    (
                        estimate.seconds,
                        estimate.log_z - truth,
                        abs(estimate.log_z - truth),
                        0.5 * (estimate.log_z_upper - estimate.log_z_lower),
                        estimate.effective_sample_size,
                    )
                )
            med = [statistics.median(r[i] for r in rows) for i in range(5)]
            print(
                f"| {label} | {num_betas:,} | {num_chains:,} | {med[0]:.2f} | "
                f"{med[1]:+.4f} | {med[2]:.4f} | {med[3]:.4f} | {med[4]:,.0f} |",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 200])
    parser.add_argument("--betas", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--chains", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-betas", type=int, default=20000)
    parser.add_argument("--reference-chains", type=int, default=1000)
    parser.add_argument("--reverse-chains", type=int, default=500)
    parser.add_argument("--sample-sweeps", type=int, default=1000)
    args = parser.parse_args()
    if keras.backend.backend() != "jax":
        print("note: this benchmark is meant for the JAX backend")
    print(describe_machine())
    print(
        f"medians over {args.repeats} AIS seeds (the first run of a shape "
        "includes JAX compilation); error = log Ẑ - reference"
    )
    references = []
    print(
        "| RBM | temperatures | chains | seconds | error | \\|error\\| | "
        "±3σ̂ half-width | ESS |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.sizes:
        a1, a2, w = trained_like_rbm(n, seed=n)
        prior = make_prior(a1, a2, w, num_chains=1, tempering_betas=LADDER, seed=n)
        start = time.perf_counter()
        samples = tuple(
            np.asarray(keras.ops.convert_to_numpy(z))
            for z in prior.sample(args.reverse_chains, sweeps=args.sample_sweeps)
        )
        sample_seconds = time.perf_counter() - start
        if n <= 24:
            truth = prior.exact_log_partition()
            references.append(f"{n} + {n}: exact log Z = {truth:.4f}")
            label = f"{n} + {n}"
        else:
            forward = prior.ais_log_partition(
                num_betas=args.reference_betas,
                num_chains=args.reference_chains,
                base_samples=samples,
                seed=1000,
            )
            reverse = prior.ais_log_partition(
                num_betas=args.reference_betas,
                reverse=True,
                target_samples=samples,
                base_samples=samples,
                seed=1001,
            )
            truth = forward.log_z
            references.append(
                f"{n} + {n}: reference forward AIS {args.reference_betas:,} × "
                f"{args.reference_chains:,}: {forward.log_z:.4f} "
                f"[{forward.log_z_lower:.4f}, {forward.log_z_upper:.4f}] "
                f"({forward.seconds:.0f} s); reverse AIS {args.reference_betas:,} × "
                f"{args.reverse_chains:,} from PT samples ({args.sample_sweeps} "
                f"sweeps, 8 temperatures, {sample_seconds:.0f} s): {reverse.log_z:.4f} "
                f"[{reverse.log_z_lower:.4f}, {reverse.log_z_upper:.4f}] "
                f"({reverse.seconds:.0f} s); reverse - forward = "
                f"{reverse.log_z - forward.log_z:+.4f}"
            )
            label = f"{n} + {n}"
        run_grid(prior, truth, samples, args.betas, args.chains, args.repeats, label)
    print()
    for line in references:
        print(line)


if __name__ == "__main__":
    main()
