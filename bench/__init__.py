"""Benchmarks for smartcar-async: ``python -m bench <scenario>``.

Each scenario is a module in this package; the server side lives in `bench.server` and
always runs in a process of its own, so the client under test has a core to itself.
"""
