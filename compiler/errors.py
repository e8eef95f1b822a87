"""The one exception type for user errors: the CLI prints its message on one line and exits 1."""


class SnncError(Exception):
    """A problem with the user's input (model, arguments, data), stated so the user can fix it."""
