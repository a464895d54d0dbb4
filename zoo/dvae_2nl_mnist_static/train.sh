#!/usr/bin/env bash
# Reproduces this preset: its training stages in order.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --epochs 40 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --epochs 30 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --epochs 200 --seed 0 --data-dir ../shared/data --eval-examples 0 --eval-samples 4000
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --epochs 200 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --epochs 160 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --epochs 160 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --restart-learning-rate --epochs 659 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvae_2nl_mnist_static --continue --epochs 551 --seed 0 --data-dir ../shared/data --eval-examples 0
