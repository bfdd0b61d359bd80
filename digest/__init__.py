"""digest: a newsletter digest builder."""

__version__ = "0.1.0"
