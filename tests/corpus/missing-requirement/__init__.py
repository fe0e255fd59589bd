"""Requires a plugin nobody installed."""
