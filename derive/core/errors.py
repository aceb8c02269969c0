"""The one exception derive raises for bad input: a message that fits on one line."""


class DeriveError(ValueError):
    """Bad input or an impossible request; ``str(err)`` is a one-line message for the user."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))

    def _render_traceback_(self):
        """In Jupyter (IPython), show the one line, not a traceback through derive's internals."""
        return [f"DeriveError: {self}"]
