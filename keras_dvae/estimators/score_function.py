"""The score-function (REINFORCE) estimator with its baselines, as a part."""

import keras
from keras import ops

from keras_dvae.distributions.score_function import (
    MovingAverageBaseline,
    score_function_surrogate,
)
from keras_dvae.estimators.base import GradientEstimator
from keras_dvae.layers.mlp import mlp

BASELINES = ("moving_average", "input_dependent", None)
# NVIL's input-dependent baseline: one hidden layer of 100 tanh units
# (Mnih & Gregor 2014, their MNIST experiments).
BASELINE_HIDDEN_UNITS = (100,)
BASELINE_DECAY = 0.9


@keras.saving.register_keras_serializable(package="keras_dvae")
class ScoreFunction(GradientEstimator):
    """REINFORCE for ∇_φ E_q[log p(x|z)] with a baseline (Williams 1992; NVIL).

    One hard code z ~ q(z|x) per example; the loss is −log p(x|z) (the
    decoder's gradient) plus `surrogate(x, log_q, signal)`: zero-valued,
    its gradient is −(f − b) ∇ log q(z|x) with f = log p(x|z). f leaves out
    log p(z) − log q(z|x): the KL is differentiated exactly, and would
    otherwise count twice. NVIL's variance normalisation is left out: it
    would rescale the REINFORCE part but not the KL gradient.

    Args:
        baseline: "moving_average" (a running mean of f); "input_dependent"
            (NVIL's b(x) + c: a 100-unit tanh MLP of x regressing f − c,
            plus the running mean c of f − b(x)); or None.
        seed: int or None.
        **kwargs: base `Layer` arguments.

    References:
        Williams, "Simple statistical gradient-following algorithms", 1992;
        Mnih & Gregor, "Neural Variational Inference and Learning in Belief
        Networks", ICML 2014, §3.
    """

    def __init__(self, baseline="moving_average", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if baseline not in BASELINES:
            raise ValueError(
                f"`baseline` must be one of {BASELINES}. "
                f"Received: baseline={baseline!r}"
            )
        self.baseline = baseline
        self.moving_baseline = None
        self.baseline_network = None
        if baseline is not None:
            self.moving_baseline = MovingAverageBaseline(
                decay=BASELINE_DECAY, name="moving_baseline"
            )
        if baseline == "input_dependent":
            self.baseline_network = mlp(
                BASELINE_HIDDEN_UNITS, 1, "baseline_network", "tanh", batch_norm=False
            )

    def build(self, input_shape, num_values=None):
        if self.moving_baseline is not None:
            self.moving_baseline.build(())
        if self.baseline_network is not None:
            self.baseline_network.build((None, int(input_shape[-1])))
        self.built = True

    def loss(self, problem, training=None):
        coding, logits = problem.coding, problem.logits
        z = coding.sample(ops.stop_gradient(logits), self.seed_generator)
        (nll,) = problem.nll([z])
        log_q = coding.log_prob(logits, z)
        surrogate = self.surrogate(problem.centred_x, log_q, -nll, training=training)
        return nll, nll + surrogate

    def surrogate(self, x, log_q, signal, training=None):
        """The per-example surrogate (zero-valued but for b(x)'s squared error).

        Args:
            x: (n, input_dim) centred inputs (for the baseline network).
            log_q: log q(z|x) of the sampled codes, per example (or per latent).
            signal: f, per example.
            training: update the running mean.
        """
        learned = None
        if self.baseline_network is not None:
            learned = self.baseline_network(x, training=training)[:, 0]
        baseline = None
        if self.moving_baseline is not None:
            centred = signal if learned is None else signal - learned
            baseline = self.moving_baseline(centred, training=training)
        return score_function_surrogate(
            log_q, signal, baseline=baseline, learned_baseline=learned
        )

    def get_config(self):
        return {**super().get_config(), "baseline": self.baseline}
