"""The package version, importable from any layer without importing ``lens`` itself."""

__version__ = "0.1.0"
