"""A typed "not given" for services' optional keyword arguments, where None (or "") is a value the
caller may mean: ``name: str | Unset = UNSET``, then ``if name is not UNSET`` narrows it for mypy.
The kernel: imports no domain module."""

from __future__ import annotations

import enum
from typing import Final, Literal


class Unset(enum.Enum):
    """The one value "the caller did not pass this argument"."""

    UNSET = "unset"

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
