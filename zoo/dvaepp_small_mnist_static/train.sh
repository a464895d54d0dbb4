#!/usr/bin/env bash
# Reproduces this preset.
KERAS_BACKEND=jax python -m keras_dvae.zoo.train dvaepp_small_mnist_static --epochs 21 --seed 0 --data-dir ../shared/data
