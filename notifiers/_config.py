"""What a channel's entry in units.yaml may hold: each channel class declares a ``Config``
(a pydantic model of its own fields, beside its code) and ``CHANNEL_CONFIGS`` hands them to
the units loader, which checks every channel with its kind's model (``plans.load_units``).

``rules`` are the fields' joint rules: ``"url|url_env*"`` means exactly one of the two and
required (``*``); ``"a|b"`` at most one. The shared field types check what every channel's
fields must be: ``*_env`` names environment variables (secrets are never written in the
file), URLs are http(s), ``at_mobiles`` is true or a list of mainland mobiles.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = ["AtMobiles", "ChannelConfig", "EnvName", "HttpUrl", "RateLimit", "Text", "UrlConfig",
           "parse_rate_limit"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MOBILE = re.compile(r"1[3-9]\d{9}")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError("must name an environment variable (letters, digits and _, e.g. "
                         "DJB_DING_SECRET), not hold the secret itself")
    return value


def _http_url(value: str | None) -> str | None:
    # Quote only the scheme: a DingTalk or WeCom URL carries its token.
    scheme, sep, rest = (value or "").partition("://")
    if value is not None and (not sep or scheme.lower() not in ("http", "https") or not rest):
        got = f"“{scheme}://”" if sep else "no scheme"
        raise ValueError(f"must be an http:// or https:// URL (got {got})")
    return value


# The mobile rule of plans._units (people's mobiles) again, on purpose: notifiers does not
# import plans (the layering the README states), and at_mobiles is a channel's own field.
def _at_mobiles(value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, list):
        raise ValueError("write true (@ the unit's people), false, or a list of mobiles")  # noqa: TRY004 - pydantic reports ValueErrors
    mobiles = []
    for item in value:
        digits = re.sub(r"[\s-]", "", str(item)).removeprefix("+86")
        if not _MOBILE.fullmatch(digits):
            raise ValueError(f"“{item}” is not a mainland mobile number; write 11 digits starting "
                             f"with 1, e.g. 13800000000 (optionally +86)")
        mobiles.append(digits)
    return mobiles


_PER = {"s": 1.0, "sec": 1.0, "秒": 1.0, "min": 60.0, "分钟": 60.0, "h": 3600.0, "hour": 3600.0,
        "小时": 3600.0, "d": 86400.0, "day": 86400.0, "天": 86400.0}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\S+?)\s*")


def parse_rate_limit(value: str | None) -> tuple[tuple[int, float], ...]:
    """``"5/s, 100/min"`` as ((5, 1.0), (100, 60.0)); empty for None. Raises ValueError."""
    limits = []
    for part in re.split(r"[,，;；]", value or ""):
        if not part.strip():
            continue
        match = _RATE.fullmatch(part)
        if not match or match[2].lower() not in _PER or int(match[1]) < 1:
            raise ValueError(f"“{part.strip()}” is not a rate limit; write sends per period, e.g. "
                             f"30/min, 5/s, 1000/h or 10000/d (several: 5/s, 100/min)")
        limits.append((int(match[1]), _PER[match[2].lower()]))
    return tuple(limits)


def _rate_limit(value: str | None) -> str | None:
    parse_rate_limit(value)
    return value


EnvName = Annotated[str | None, AfterValidator(_env_name)]
RateLimit = Annotated[str | None, AfterValidator(_rate_limit)]
HttpUrl = Annotated[str | None, AfterValidator(_http_url)]
AtMobiles = Annotated[bool | list[str] | None, BeforeValidator(_at_mobiles)]
Text = Annotated[str | None, Field(min_length=1)]


class ChannelConfig(BaseModel):
    """A channel kind's fields (all optional here; ``rules`` says which are required).

    ``rate_limit`` is every kind's: the destination's own limit, when it has one the provider
    does not publish (a receiver behind a webhook URL, an SMS account's 流控 set in its
    console), kept per destination by every daemon together as the provider's are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True,
                              hide_input_in_errors=True)
    rules: ClassVar[tuple[str, ...]] = ()
    rate_limit: RateLimit = None


class UrlConfig(ChannelConfig):
    """A channel that posts to one URL, written in the file or named by ``url_env`` (a robot's
    URL carries its token: then it belongs in the environment)."""

    url: HttpUrl = None
    url_env: EnvName = None
    rules: ClassVar[tuple[str, ...]] = ("url|url_env*",)
