"""Block-Gibbs throughput of RBMPrior, and parallel tempering against plain Gibbs.

Two parts:

* ``throughput`` (run once per backend): sweeps per second of
  `RBMPrior.update_chains` for 1000 persistent chains of a 200 + 200 RBM,
  plain and with a 4-temperature parallel-tempering ladder. "eager" is the
  method called as is (on JAX a compiled XLA loop; on TensorFlow and PyTorch
  a Python loop of eager operations); "tf.function" wraps the same call in a
  graph, as `model.fit` does. Median of repeats.

* ``mixing`` (JAX): a bimodal 20 + 20 RBM (one strong pattern u vᵀ plus weak
  noise, two mirror-image modes). For plain Gibbs and parallel tempering the
  β = 1 chains are traced sweep by sweep; the statistic is the overlap
  m = mean((2 z1 - 1) u). Reported: mode switches per 1000 sweeps per chain
  (crossings from m < -0.5 to m > 0.5 or back), the integrated
  autocorrelation time τ of m (Sokal's windowing), the effective sample size
  per 1000 sweeps per chain (1000/τ) and per second of sampling (all chains),
  and the error of the chains' fraction of time in the m > 0 mode against
  the exact probability (enumeration of the 2^20 states of z1). Medians over
  seeds.

    for b in tensorflow jax torch; do
        KERAS_BACKEND=$b .venv/bin/python benchmarks/rbm_gibbs.py throughput
    done
    KERAS_BACKEND=jax .venv/bin/python benchmarks/rbm_gibbs.py mixing
"""

import argparse
import statistics
import time

import keras
import numpy as np
from keras import ops
from rbm_common import describe_machine, make_prior, trained_like_rbm

BACKEND = keras.backend.backend()


def _sync(x):
    ops.convert_to_numpy(x[0] if isinstance(x, tuple) else x)


def throughput(args):
    a1, a2, w = trained_like_rbm(200, seed=0)
    print(describe_machine())
    print(
        f"200 + 200 RBM, {args.chains} chains, {args.sweeps} sweeps a call, "
        f"median of {args.repeats} calls after one warm-up"
    )
    print("| backend | sampler | call | sweeps/s | ms/sweep |")
    print("| --- | --- | --- | --- | --- |")
    for label, ladder in (
        ("plain Gibbs", None),
        ("PT, 4 temperatures", [0.4, 0.6, 0.8, 1.0]),
    ):
        prior = make_prior(
            a1, a2, w, num_chains=args.chains, tempering_betas=ladder, seed=0
        )
        calls = {"eager": lambda p=prior: p.update_chains(args.sweeps)}
        if BACKEND == "tensorflow":
            import tensorflow as tf

            calls["tf.function"] = tf.function(calls["eager"])
        for mode, call in calls.items():
            _sync(call())  # warm-up (compiles on JAX and in tf.function)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                _sync(call())
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            print(
                f"| {BACKEND} | {label} | {mode} | {args.sweeps / median:,.1f} | "
                f"{1e3 * median / args.sweeps:.2f} |"
            )


def bimodal_rbm(n, coupling, seed):
    """(J/n) u vᵀ + N(0, 0.05²), biases cancelling the fields: modes ±(u, v)."""
    rng = np.random.default_rng(seed)
    u, v = rng.choice([-1.0, 1.0], n), rng.choice([-1.0, 1.0], n)
    w = coupling / n * np.outer(u, v) + rng.normal(0.0, 0.05, (n, n))
    a1 = -0.5 * w.sum(1)
    a2 = -0.5 * w.sum(0)
    f32 = [np.asarray(x, np.float32).astype(np.float64) for x in (a1, a2, w)]
    return (*f32, u)


def exact_positive_mode_probability(a1, a2, w, u, chunk=1 << 16):
    """P(mean((2 z1 - 1) u) > 0) by enumerating z1, z2 summed out."""
    n = len(a1)
    bits = np.arange(n)
    log_p, positive = [], []
    for start in range(0, 2**n, chunk):
        index = np.arange(start, min(start + chunk, 2**n))
        z1 = ((index[:, None] >> bits) & 1).astype(np.float64)
        log_p.append(z1 @ a1 + np.logaddexp(0.0, a2 + z1 @ w).sum(1))
        positive.append((2 * z1 - 1) @ u > 0)
    log_p, positive = np.concatenate(log_p), np.concatenate(positive)
    p = np.exp(log_p - log_p.max())
    return p[positive].sum() / p.sum()


def integrated_autocorrelation_time(trace):
    """τ of a (T, C) trace, pooled over chains, Sokal's window (M ≥ 5τ).

    Returns (τ, converged): without a window, τ = T and converged False.
    """
    steps = trace.shape[0]
    x = trace - trace.mean()
    spectrum = np.fft.rfft(x, n=2 * steps, axis=0)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), axis=0)[:steps].mean(axis=1)
    if acov[0] <= 0:
        return 1.0, True
    rho = acov / acov[0]
    tau = 1.0
    for lag in range(1, steps):
        tau += 2 * rho[lag]
        if lag >= 5 * tau:
            return max(tau, 1.0), True
    return float(steps), False


def switches(trace, threshold=0.5):
    """Crossings between m < -threshold and m > threshold, summed over chains."""
    count = 0
    for chain in trace.T:
        state = 0
        for m in chain:
            if m > threshold and state <= 0:
                count += state < 0
                state = 1
            elif m < -threshold and state >= 0:
                count += state > 0
                state = -1
    return count


def mixing(args):
    print(describe_machine())
    print(
        f"bimodal {args.units} + {args.units} RBM, {args.chains} chains, "
        f"{args.burn_in} burn-in + {args.trace} traced sweeps, medians over "
        f"{len(args.seeds)} seeds"
    )
    print(
        "| coupling J | sampler | switches / 1000 sweeps / chain | τ (sweeps) | "
        "ESS / 1000 sweeps / chain | ms / sweep (all chains) | ESS / s | "
        "\\|P(m>0) error\\| |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    samplers = [("plain Gibbs", None)] + [
        (f"PT, {k} temperatures", list(np.linspace(args.min_beta, 1.0, k)))
        for k in args.ladders
    ]
    for coupling in args.couplings:
        for label, ladder in samplers:
            rows = []
            for seed in args.seeds:
                a1, a2, w, u = bimodal_rbm(args.units, coupling, seed)
                exact = exact_positive_mode_probability(a1, a2, w, u)
                prior = make_prior(
                    a1, a2, w, num_chains=args.chains, tempering_betas=ladder, seed=seed
                )
                prior.update_chains(args.burn_in)
                _sync(prior.update_chains(args.timing_sweeps))  # compile
                start = time.perf_counter()
                _sync(prior.update_chains(args.timing_sweeps))
                seconds_per_sweep = (time.perf_counter() - start) / args.timing_sweeps
                trace = np.empty((args.trace, args.chains))
                for t in range(args.trace):
                    z1, _ = prior.update_chains(1)
                    trace[t] = (2 * ops.convert_to_numpy(z1) - 1) @ u / args.units
                tau, converged = integrated_autocorrelation_time(trace)
                rows.append(
                    (
                        1000 * switches(trace) / (args.chains * args.trace),
                        tau,
                        converged,
                        1000 / tau,
                        1e3 * seconds_per_sweep,
                        args.chains / tau / seconds_per_sweep,
                        abs((trace > 0).mean() - exact),
                    )
                )
            med = [statistics.median(r[i] for r in rows) for i in range(7)]
            # Without a window τ is only bounded: τ ≥ T, ESS ≤ what is shown.
            exact = all(r[2] for r in rows)
            tau = f"{med[1]:.1f}" if exact else f"≥ {med[1]:.0f}"
            bound = "" if exact else "≤ "
            print(
                f"| {coupling:g} | {label} | {med[0]:.2f} | {tau} | "
                f"{bound}{med[3]:.2f} | {med[4]:.3f} | {bound}{med[5]:,.0f} | "
                f"{med[6]:.3f} |"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["throughput", "mixing"])
    parser.add_argument("--chains", type=int, default=None)
    parser.add_argument("--sweeps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--couplings", type=float, nargs="+", default=[5.0, 8.0])
    parser.add_argument("--ladders", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--min-beta", type=float, default=0.3)
    parser.add_argument("--burn-in", type=int, default=200)
    parser.add_argument("--trace", type=int, default=2000)
    parser.add_argument("--timing-sweeps", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if args.part == "throughput":
        args.chains = args.chains or 1000
        throughput(args)
    else:
        args.chains = args.chains or 100
        mixing(args)


if __name__ == "__main__":
    main()
