"""Devices: Edge Impulse's remote management protocol (`protocol`), presence and commands in the
database (`service`), and the per-process hub that holds device sockets and takes commands from the
bus (`hub`). See docs/devices.md."""
