"""The Mindframe kernel: container, bus and plugin lifecycle."""
