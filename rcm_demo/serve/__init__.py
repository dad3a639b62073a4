"""Serving model work to many sessions: ``worker`` (one worker per device: batches attacks across sessions,
a bounded queue that says "busy" instead of piling up) and ``modelproc`` (the child process that computes
a batch away from the web server's GIL). The next serving backend goes here beside them.

May import: every room below it (leaves, ``models``, ``zoo``, ``attacks``, ``analysis``, ``viz``); never
``training`` or ``ui``.
"""
