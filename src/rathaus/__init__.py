"""Rathaus: an open AI platform for municipal administrations."""

__version__ = "0.1.0"
