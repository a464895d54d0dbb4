#!/usr/bin/env bash
# Reproduces this preset: its training stages in order, then any re-evaluation of the final weights.
set -e
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_caltech101_silhouettes --epochs 100 --seed 0 --data-dir ../shared/data --no-selection
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_caltech101_silhouettes --continue --epochs 213 --seed 0 --data-dir ../shared/data
