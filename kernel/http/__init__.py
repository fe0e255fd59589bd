"""HTTP: the ASGI entry that dispatches to each plugin's own Litestar app, and the kernel's routes."""
