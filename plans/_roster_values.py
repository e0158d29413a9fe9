"""What a contact sheet's cell says: wrapped names on one line, lists of names, mobiles as
their digits, a secret where its variable's name belongs, and a robot URL's kind and id."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from plans._roster_columns import _WIDTH

__all__ = ["channel_id", "channel_kind"]

_SEPARATORS = re.compile(r"[、，,;；/／\n]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SHORT_NUMBER = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")  # 1.38E+10: what Excel shows, digits lost
_ROBOT_HOSTS = {"oapi.dingtalk.com": "dingtalk", "qyapi.weixin.qq.com": "wecom",
                "open.feishu.cn": "feishu", "open.larksuite.com": "feishu"}

# ── cells to text ────────────────────────────────────────────────────────────


def _one_line(text: str) -> str:
    # A line break in a Chinese name is where the cell wrapped, not a space.
    return re.sub(r"\s*\n\s*", "", text).strip()


def _names(text: str) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]


def _mobile(text: str) -> str:
    digits = re.sub(r"[\s\-–—]", "", text.translate(_WIDTH)).removeprefix("+86")
    # Anything else goes to the directory's own check as written, so its error quotes it.
    return digits if _MOBILE.fullmatch(digits) else text


def _is_secret(text: str) -> bool:
    """Whether a cell of the secret-variable column holds a secret rather than its name:
    DingTalk's SEC + hex, a Standard Webhooks whsec_, or a random mixed-case key (Feishu)."""
    if not _ENV_NAME.fullmatch(text):
        return True
    if re.fullmatch(r"SEC[0-9a-fA-F]{16,}", text) or text.lower().startswith("whsec_"):
        return True
    mixed = all(re.search(p, text) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    return len(text) >= 16 and "_" not in text and mixed


def _refused(role: str, text: str) -> str | None:
    """Why a cell cannot be taken as written, before any other check; None when it can."""
    if role == "secret_env" and _is_secret(text):
        return ("this cell must name the environment variable that holds the robot's signing "
                "secret, not hold the secret: put the secret in the environment or the secrets "
                "file (JIEDIAN_SECRETS_FILE) under a name such as DJB_DING_SECRET, and write "
                "that name here (if this sheet was shared, reset the robot's secret too)")
    if role == "mobile" and _SHORT_NUMBER.fullmatch(text.strip()):
        return (f"“{text.strip()}” is a mobile Excel wrote short, and its digits are lost; in "
                f"Excel set the column's format to Text (文本) or 0, type the number again if "
                f"it shows short there too, and save again")
    return None


def channel_kind(url: str) -> str | None:
    """The robot kind a URL's host names; None for what is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return _ROBOT_HOSTS.get(host.lower().rstrip("."), "webhook")


def channel_id(kind: str, key: str) -> str:
    """A robot channel's id from its unit's name as matched (``name_key``): ASCII, the same
    whatever the row order or the name's script."""
    return f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
