"""Benchmarks with their published results (see README.md); not run by CI, not installed."""
