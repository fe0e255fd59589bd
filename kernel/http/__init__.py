"""HTTP: the ASGI entry dispatching to each plugin's own Litestar app, and the kernel's routes."""
