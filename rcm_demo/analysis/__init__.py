"""Analysis: what the pages compute, free of Streamlit so tests and benchmarks call it directly.

``probe`` (forward hooks, relative energy per layer, average vs max pooling of the same maps), ``metrics``
(accuracy, robust accuracy, latency, stage shapes), ``lab`` (attack settings and one attack on several
models, the run card), ``sweeps`` (curves over epsilon, transfer, energy per budget, pooling across the
zoo) and ``lesson`` (the six steps' text and "what to notice", generated from the cards and live numbers).

May import: the shared leaves, ``models``, ``zoo`` and ``attacks``; never ``viz``, ``training``, ``serve``
or ``ui`` (tests/test_layering.py).
"""
