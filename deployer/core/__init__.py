"""The pure core: labels, hashing, rendering, desired state, reconcile and plan.

No engine, no clock, no processes, no threads: a test walks the imports to keep it so.
"""
