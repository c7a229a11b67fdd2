"""The ``geowarn`` command line: one module per command group, a thin layer over the Python API."""

from geowarn.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
