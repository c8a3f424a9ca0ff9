"""Benchmarks of dfs_async against its alternatives and the raw-aiohttp floor.

``python -m benchmarks`` runs every suite against the emulator (`dfs_async.testing`) in its
own process on 127.0.0.1 and prints Markdown tables; ``python -m benchmarks cpu`` runs one
suite and ``--quick`` shrinks every size (the test suite uses it). Suites: governance, cpu,
decode, memory, overhead. Peers live in `benchmarks.peers`, one module each.
"""
