"""Carrying out a plan on an engine: observe, apply, roll out, route through proxies, wait."""
