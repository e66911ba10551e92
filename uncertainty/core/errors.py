"""The one error type a stage turns into a one-line message and a non-zero exit."""


class PipelineError(Exception):
    """A problem the user can fix: a bad param, a missing or corrupt file.

    The message is complete on its own: it names the file or key, what was
    expected and, where there is one, the fix.
    """


def one_line(error: BaseException) -> str:
    """An exception's text on one line, so the PipelineError message stays one line."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
