"""Shared helpers: argument checks, numerically careful math, atomic file
writes (`files`) and crash-safe numbered generations of files (`generations`)."""
