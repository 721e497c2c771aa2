"""SQL text shared by the ingest modules (read, validate, load)."""


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
