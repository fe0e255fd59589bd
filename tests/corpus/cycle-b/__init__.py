"""The other half of a dependency cycle."""
