"""What the channel objects of one organisation's application share in a process.

DingTalk's and WeCom's internal applications sign each call with an access token that
gettoken hands out for the application's key and secret, valid ``expires_in`` seconds
(7,200). Both providers ask that it be cached, not fetched per call, and both may revoke
it early (a call then answers 40014, 42001 …: fetch another and repeat that call once).
The dispatcher keeps one channel object per unit's channel, so fifty units on one
application are fifty objects: the token and what else the application counts live here,
one per application, for as long as any of its channel objects does.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

__all__ = ["AccessToken", "shared"]

T = TypeVar("T")

# Weak: an application's state goes with the last channel object that holds it.
_SHARED: weakref.WeakValueDictionary[Hashable, object] = weakref.WeakValueDictionary()


class AccessToken:
    """One application's access token and when to fetch another (by the injected clock)."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.until = 0.0

    def valid(self, now: float) -> str | None:
        return self.token if self.token and now < self.until else None

    def keep(self, token: str, until: float) -> None:
        self.token, self.until = token, until

    def forget(self, token: str) -> None:
        """Drop ``token`` (the provider refused it), unless another call already replaced it."""
        if self.token == token:
            self.token = None


def shared(key: Hashable, make: Callable[[], T]) -> T:
    """The state of the application ``key`` names, made by ``make`` on first use; hold it
    (on the channel object) for as long as it is needed."""
    found = _SHARED.get(key)
    if found is None:
        found = make()
        _SHARED[key] = found
    return found  # type: ignore[return-value]
