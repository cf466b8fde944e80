"""Id tokens: what identifies a user to the station, as a value and a type.

The station never assumes a protocol's shape for them: 1.6 has a bare idTag (its dialect
reads every idTag as one token type, `DEFAULT_TYPE`); 2.0.1 sends `{idToken, type}`.  Two
tokens are the same only if value and type match, which is how the authorization cache, the
local list and reservations key them.
"""
from __future__ import annotations

from dataclasses import dataclass

# Token types (2.0.1 IdTokenEnumType spells them the same way).
ISO14443 = "ISO14443"     # an RFID card (the default: what a driver presents at a reader)
CENTRAL = "Central"       # made up by the CSMS (e.g. a remote start without a card)
LOCAL = "Local"           # made up by the station itself
DEFAULT_TYPE = ISO14443


@dataclass(frozen=True, slots=True)
class IdToken:
    value: str
    type: str = DEFAULT_TYPE

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not self.value:
            raise ValueError(f"an id token needs a non-empty text value, not {self.value!r}")
        if not isinstance(self.type, str) or not self.type:
            raise ValueError(f"id token {self.value!r}: its type must be a non-empty text")

    @classmethod
    def of(cls, token: IdToken | str) -> IdToken:
        """A token from what a driver passes: a token, or a bare value (an RFID card)."""
        if isinstance(token, IdToken):
            return token
        if isinstance(token, str):
            return cls(token)
        raise TypeError(f"an id token is an IdToken or a text, not {type(token).__name__}")

    def __str__(self) -> str:
        return self.value
