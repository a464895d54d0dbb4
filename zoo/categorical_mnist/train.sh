#!/usr/bin/env bash
# Reproduces this preset.
KERAS_BACKEND=jax python -m keras_dvae.zoo.train categorical_mnist --epochs 160 --seed 0 --data-dir ../shared/data
