"""Requires a newer steady than the one installed."""
