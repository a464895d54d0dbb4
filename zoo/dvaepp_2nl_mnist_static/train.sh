#!/usr/bin/env bash
# Reproduces this preset: its training stages in order, then any re-evaluation of the final weights.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --epochs 2000 --seed 0 --data-dir ../shared/data --eval-examples 0
