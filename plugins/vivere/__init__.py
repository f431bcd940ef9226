"""Vivere (placeholder during packaging set-up)."""
