"""Renderers of the same stack for other platforms (pure: no engine)."""
