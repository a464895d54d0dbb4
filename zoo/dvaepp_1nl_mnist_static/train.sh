#!/usr/bin/env bash
# Reproduces this preset: its training stages in order.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_1nl_mnist_static --epochs 1107 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_1nl_mnist_static --continue --epochs 738 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_1nl_mnist_static --continue --epochs 155 --seed 0 --data-dir ../shared/data --eval-examples 0
