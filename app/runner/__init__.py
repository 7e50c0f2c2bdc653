"""`tinyforge run-impulse`: run a deployed library's Linux runner (model.eim) on a file or on a
serial device, printing classifications as they come. See docs/devices.md ("Running an impulse")."""
