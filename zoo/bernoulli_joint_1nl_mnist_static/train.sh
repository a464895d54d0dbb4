#!/usr/bin/env bash
# Reproduces this preset: its training stages in order.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_joint_1nl_mnist_static --epochs 40 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_joint_1nl_mnist_static --continue --epochs 760 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_joint_1nl_mnist_static --continue --epochs 533 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train bernoulli_joint_1nl_mnist_static --continue --epochs 667 --seed 0 --data-dir ../shared/data --eval-examples 0
