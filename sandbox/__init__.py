"""Out-of-process host for plugins that ask for isolation."""
