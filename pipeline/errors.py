"""The one error type users see: what went wrong, and with which file."""


class PipelineError(Exception):
    """A problem the user can act on; printed as one line, without a traceback."""

    def __init__(self, subject: str, problem: str):
        super().__init__(f"{subject}: {problem}")
        self.subject = subject
        self.problem = problem


def one_line(text: str) -> str:
    """A message on one line: a library's multi-line error must not break a log or a table."""
    return " ".join(text.split())
