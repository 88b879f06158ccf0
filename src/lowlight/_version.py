"""The package version (a leaf: modules that only need the version import it, not the package)."""

__version__ = "0.1.0"
