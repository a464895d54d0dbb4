#!/usr/bin/env bash
# Reproduces this preset: its training stages in order, then any re-evaluation of the final weights.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist_static --epochs 21 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist_static --continue --epochs 13 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist_static --continue --restart-learning-rate --epochs 15 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist_static --continue --restart-learning-rate --epochs 25 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist_static --continue --restart-learning-rate --epochs 19 --seed 0 --data-dir ../shared/data
