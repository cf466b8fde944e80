"""Authorization: the neutral authorization info (status, expiry, group id) and the cache,
keyed by id token (value and type: id_token.py).

The cache keeps the authorization info of every answer that carries one (Authorize, StartTransaction,
StopTransaction).  An entry whose expiryDate has passed reads as Expired; only an Accepted,
unexpired entry lets the station skip the Authorize round trip (LocalPreAuthorize).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime

from .clock import utc_now
from .id_token import IdToken

ACCEPTED, BLOCKED, EXPIRED, INVALID, CONCURRENT_TX = (
    "Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")


@dataclass(slots=True, frozen=True)
class AuthorizationInfo:
    """What the CSMS (or local knowledge) says of an id token: its status, until when it
    holds, and the group it belongs to (cards of one group may stop each other's
    transactions and use each other's reservations; 1.6 calls it the parent id tag)."""
    status: str
    expiry: datetime | None = None
    group_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def as_of(self, now: datetime) -> AuthorizationInfo:
        """This info as it stands at `now`: Expired once its expiryDate has passed."""
        if self.expiry is not None and self.expiry <= now and self.status == ACCEPTED:
            return replace(self, status=EXPIRED)
        return self


class AuthCache:
    """Bounded (least recently stored entries go first): a station keeps a small cache."""

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self._entries: OrderedDict[IdToken, AuthorizationInfo] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, id_token: IdToken | str) -> bool:
        return IdToken.of(id_token) in self._entries

    def lookup(self, id_token: IdToken | str, now: datetime | None = None) -> AuthorizationInfo | None:
        info = self._entries.get(IdToken.of(id_token))
        return None if info is None else info.as_of(now or utc_now())

    def store(self, id_token: IdToken | str, info: AuthorizationInfo) -> None:
        id_token = IdToken.of(id_token)
        self._entries.pop(id_token, None)
        self._entries[id_token] = info
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class Authorizer:
    """The one place that decides from local knowledge whether a tag may start (1.6 §3.5):
    the Local Authorization List first (when LocalAuthListEnabled), then the cache (when
    AuthorizationCacheEnabled).  `config` is the station's ConfigStore; the station asks the
    CSMS only when this says None."""

    def __init__(self, settings, cache: AuthCache, local_list) -> None:
        self.settings = settings
        self.cache = cache
        self.local_list = local_list

    def known(self, id_token: IdToken | str, now: datetime | None = None
              ) -> tuple[AuthorizationInfo | None, str | None]:
        """(info, "list" | "cache") from local knowledge, or (None, None)."""
        now = now or utc_now()
        if self.settings["local_list_enabled"]:
            info = self.local_list.lookup(id_token, now)
            if info is not None:   # the list takes precedence over the cache
                return info, "list"
        if self.settings["authorization_cache_enabled"]:
            info = self.cache.lookup(id_token, now)
            if info is not None:
                return info, "cache"
        return None, None

    def decide(self, id_token: IdToken | str, online: bool) -> tuple[AuthorizationInfo | None, str | None]:
        """(info, source) when the station decides by itself, (None, None) to ask the CSMS.

        Online: only LocalPreAuthorize with a locally Accepted tag skips the Authorize.
        Offline: with LocalAuthorizeOffline a locally known tag gets its local status
        (Blocked / Expired / Invalid refuse); an unknown one starts only with
        AllowOfflineTxForUnknownId.  Anything else offline is refused (Invalid).
        """
        info, source = self.known(id_token)
        if online:
            if info is not None and info.accepted and self.settings["local_pre_authorize"]:
                return info, source
            return None, None
        if info is not None:
            if self.settings["local_authorize_offline"]:
                return info, source
            return AuthorizationInfo(INVALID), "offline"
        if self.settings["allow_offline_tx_for_unknown_id"]:
            return AuthorizationInfo(ACCEPTED), "unknown-offline"
        return AuthorizationInfo(INVALID), "offline"
