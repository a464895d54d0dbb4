#!/usr/bin/env bash
# Reproduces this preset: its training stages in order.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_marginal_1nl_mnist_static --epochs 953 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_marginal_1nl_mnist_static --continue --epochs 635 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_marginal_1nl_mnist_static --continue --epochs 412 --seed 0 --data-dir ../shared/data --eval-examples 0
