#!/usr/bin/env bash
# Reproduces this preset: its training stages in order, then any re-evaluation of the final weights.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_omniglot --epochs 90 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_omniglot --continue --restart-learning-rate --epochs 70 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_omniglot --continue --restart-learning-rate --epochs 66 --seed 0 --data-dir ../shared/data
