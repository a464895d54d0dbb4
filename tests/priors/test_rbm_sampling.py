"""Replica exchange and the seeded loop, on small cases checked by hand."""

import keras
import numpy as np
from keras import ops

from keras_dvae.priors import rbm_sampling
from tests.helpers import to_numpy


def test_exchange_partners():
    np.testing.assert_array_equal(
        rbm_sampling.exchange_partners(5),
        [[1, 0, 3, 2, 4], [0, 2, 1, 4, 3]],
    )
    np.testing.assert_array_equal(rbm_sampling.exchange_partners(1), [[0], [0]])


def test_replica_exchange_swaps_whole_states_by_the_metropolis_rule():
    # Two replicas at β = (0, 1) and energies E = -a1ᵀz1. Each chain attempts
    # the even move (the pair (0, 1)) with probability ½; moving the
    # low-energy state to β = 1 is then always accepted, and the reverse
    # move with probability exp((0 - 1)(E_0 - E_1)) = e^{-2}.
    a1 = np.array([2.0, 0.0], "float32")
    a2 = np.zeros(1, "float32")
    w = np.zeros((2, 1), "float32")
    betas = np.array([0.0, 1.0], "float32")
    partners = rbm_sampling.exchange_partners(2)
    num_chains = 20000
    low = np.tile([[1.0, 1.0]], (num_chains, 1))  # E = -2
    high = np.tile([[0.0, 1.0]], (num_chains, 1))  # E = 0
    z2 = np.stack([np.zeros((num_chains, 1)), np.ones((num_chains, 1))])
    z2 = z2.astype("float32")
    seed = keras.random.SeedGenerator(0)
    cases = ((np.stack([low, high]), 0.5), (np.stack([high, low]), 0.5 * np.exp(-2)))
    for z1, probability in cases:
        new_z1, new_z2 = (
            to_numpy(x)
            for x in rbm_sampling.replica_exchange(
                z1.astype("float32"), z2, a1, a2, w, betas, partners, seed
            )
        )
        swapped = new_z1[0, :, 0] != z1[0, :, 0]
        # Both members of a pair, and both groups of units, move together.
        np.testing.assert_array_equal(new_z1[1, :, 0] != z1[1, :, 0], swapped)
        np.testing.assert_array_equal(new_z2[0, :, 0] == 1.0, swapped)
        tolerance = 4 * np.sqrt(probability * (1 - probability) / num_chains)
        assert abs(swapped.mean() - probability) < tolerance


def test_seeded_loop_advances_the_generator_like_eager_draws():
    seed = keras.random.SeedGenerator(3)

    def body(_, state, constants, generator):
        return state + keras.random.uniform((2,), seed=generator) * constants[0]

    out = rbm_sampling.seeded_fori_loop(
        0, 3, body, ops.zeros((2,)), (ops.ones(()),), seed
    )
    eager = keras.random.SeedGenerator(3)
    expected = sum(to_numpy(keras.random.uniform((2,), seed=eager)) for _ in range(3))
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(seed.state), to_numpy(eager.state))
