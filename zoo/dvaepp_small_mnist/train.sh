#!/usr/bin/env bash
# Reproduces this preset: its training stages in order, then any re-evaluation of the final weights.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist --epochs 42 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist --continue --restart-learning-rate --epochs 26 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist --continue --restart-learning-rate --epochs 14 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist --continue --restart-learning-rate --epochs 9 --seed 0 --data-dir ../shared/data
