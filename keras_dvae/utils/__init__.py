"""Shared helpers: argument checks and numerically careful math."""
