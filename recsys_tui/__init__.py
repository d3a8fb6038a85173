"""recsys-tui: a terminal recommender that visibly learns while you use it."""

__version__ = "0.1.0"
