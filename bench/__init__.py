"""Registru's benchmarks: ``python -m bench`` (or ``make bench``) lists them and their options."""
