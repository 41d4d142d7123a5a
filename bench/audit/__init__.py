"""Audit-trail benchmarks: B1 audited writes, B3 verification, B10 encryption overhead.

``python -m bench.audit b1|b3|b10 [options]``; see docs/benchmarks.md for the figures.
"""
