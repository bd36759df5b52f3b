"""worldmodel: energy-based and flow-based world models of programs."""

__version__ = "0.1.0"

__all__ = ["__version__"]
