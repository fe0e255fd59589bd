"""Half of a dependency cycle."""
