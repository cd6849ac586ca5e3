"""What a provider answers for one secret."""

from __future__ import annotations


class SecretDetails:
    """A secret's value, with the provider (`source`) and name (`key`) it came from.

    Its repr never shows the value, so that logging one cannot leak it."""

    def __init__(self, source: str, key: str, value: str) -> None:
        self.source = source
        self.key = key
        self.value = value

    def __repr__(self) -> str:
        return f"<SecretDetails {self.key!r} from {self.source!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretDetails):
            return NotImplemented
        return (self.source, self.key, self.value) == (other.source, other.key, other.value)

    __hash__ = None  # type: ignore[assignment]
