from main import app

__all__ = ["app"]
