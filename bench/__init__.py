"""The benchmarks: each times this product against a baseline in the same run (see README "Speed").

Why a package: the scripts run as modules from the repository root (``python -m bench.bench_segments``,
``python -m bench.run_all``), so they import ``lib`` (and each other) without patching ``sys.path``.
"""
