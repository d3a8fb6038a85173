"""Command groups of the ``recsys-tui`` CLI; each module registers its commands on ``app``."""
