"""The package version, in a module of its own so that any module may read it without importing
the package root (which imports the runner, the store and the rest)."""

__version__ = "0.1.0"
