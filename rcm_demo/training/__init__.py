"""Training and evaluation: the code behind the commands ``python -m rcm_demo.train``, ``.evaluate`` and
``.build_zoo`` (their modules at the package's top are two-line entry points into this one).

``config`` (``TrainConfig``, the command line, the schedule, the resume key), ``steps`` (one optimisation
step per recipe, the held-out monitor), ``train`` (the loop, resume states, the card), ``evaluate`` (metrics
with per-image bits onto the cards, resumable per batch), ``report`` (the README section, docs/zoo.md,
docs/pooling.md, the reproduction report), ``plan`` (the tier plans: what to train, with which budget) and
``build_zoo`` (carries a plan out, resuming where it stopped).

May import: every room below it (leaves, ``models``, ``zoo``, ``attacks``, ``analysis``, ``viz``); never
``serve`` or ``ui``.
"""
