"""The one error of an erasure that cannot be carried out."""


class ErasureError(RuntimeError):
    """The erasure could not be planned or carried out; one line saying what to do. Nothing
    was removed when it is raised before the purge."""
