#!/usr/bin/env bash
# Reproduces this preset: its training stages in order, then any re-evaluation of the final weights.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train categorical_st_mnist --epochs 160 --seed 0 --data-dir ../shared/data
KERAS_BACKEND=jax python -m keras_dvae.zoo.train categorical_st_mnist --continue --epochs 400 --seed 0 --data-dir ../shared/data --eval-examples 0 --eval-samples 4000
