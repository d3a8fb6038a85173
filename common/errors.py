"""Error types whose message is meant for a person: one line, says what to do."""


class RecsysError(Exception):
    """Base of every error the CLI and the app show as a one-line message (no traceback)."""

    exit_code = 1
    """The CLI's exit status for this error; usage errors (a flag value that cannot be used) use 2."""


class DataError(RecsysError):
    """The dataset could not be fetched, parsed, verified or loaded."""
