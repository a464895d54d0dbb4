#!/usr/bin/env bash
# Reproduces this preset: its training stages in order.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --epochs 120 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 160 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 200 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 200 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --restart-learning-rate --epochs 200 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 100 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 100 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 720 --seed 0 --data-dir ../shared/data --eval-examples 0
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 200 --seed 0 --data-dir ../shared/data --eval-examples 0
