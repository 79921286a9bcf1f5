"""Benchmarks (SPEC 8): figures measured on this machine, not timed tests.

Run ``python -m benchmarks.run [NAME ...] [--json OUT]``; see ``benchmarks/README.md``.
"""
