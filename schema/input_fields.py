"""What input types share: fields a client may leave out."""

from typing import Any

import strawberry


def optional(description: str) -> Any:
    """Declare an input field that may be omitted: null when it is (``= null`` in the SDL)."""
    return strawberry.field(default=None, description=description)
