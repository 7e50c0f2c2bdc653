"""The serial data forwarder (`tinyforge data-forwarder`): a device that prints lines of numbers on
a serial port becomes a remote management device of a project. See docs/devices.md."""
