"""Secrets (SMS keys, webhook secrets, robot tokens) from the environment or a secrets file.

Plan and units files only *name* a secret (``secret_env: DJB_DING_SECRET``);
the value comes from the environment or from the file named by
``JIEDIAN_SECRETS_FILE`` (a dotenv file: ``NAME=value`` lines, ``#`` comments), which must
not be readable by group or others: a secret file anyone can read is refused.
Values never appear in ``repr``, logs or errors; ``mask`` scrubs them from any
text (a provider's error that echoes a URL with its token, say).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream

__all__ = ["Secrets", "SecretsError"]


class SecretsError(RuntimeError):
    """A secret is missing, or the secrets file is unsafe or unreadable."""


class Secrets:
    """Look secrets up by name: the environment first, then the secrets file."""

    def __init__(self, env: Mapping[str, str] | None = None,
                 file_values: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._file = dict(file_values or {})
        self._handed_out: set[str] = set()  # values given to channels: secrets, whatever their name

    @classmethod
    def load(cls, path: Path | None = None, env: Mapping[str, str] | None = None) -> Secrets:
        """Read the secrets file (if any), refusing one that others can read."""
        if path is None:
            return cls(env)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise SecretsError(f"secrets file {path} does not exist") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretsError(
                f"secrets file {path} is readable by others (mode {stat.filemode(mode)}); "
                f"run `chmod 600 {path}`"
            )
        values = {}
        # python-dotenv reads the file as shells and docker do (quotes, `export`, a trailing
        # `# comment`); a line it cannot read is an error here, not a silent skip.
        for binding in parse_stream(io.StringIO(path.read_text(encoding="utf-8"))):
            if binding.error or (binding.key is not None and binding.value is None):
                raise SecretsError(f"{path}:{binding.original.line}: expected NAME=value "
                                   f"(a quote left open?)")
            if binding.key:
                values[binding.key] = binding.value or ""
        return cls(env, values)

    def find(self, name: str) -> str | None:
        """The secret ``name``, or None when it is not set (an optional secret)."""
        value = self._env.get(name) or self._file.get(name) or None
        if value:
            self._handed_out.add(value)
        return value

    def get(self, name: str) -> str:
        value = self.find(name)
        if not value:
            raise SecretsError(
                f"secret {name} is not set; export {name}=… or add it to JIEDIAN_SECRETS_FILE"
            )
        return value

    def mask(self, text: str) -> str:
        """``text`` with every secret value this object knows replaced by ***: the file's,
        the environment's that look like secrets, and any handed out by ``get``/``find``
        (``DJB_MAIL_PASS`` looks like nothing, but a channel asked for it as a secret)."""
        known = {*self._file.values(), *self._secret_env_values(), *self._handed_out}
        for value in sorted(known, key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, "***")
        return text

    def _secret_env_values(self) -> list[str]:
        # Only variables that look like secrets: masking PATH would garble every message.
        hints = ("SECRET", "TOKEN", "KEY", "PASSWORD", "_ID", "URL")
        return [v for k, v in self._env.items() if any(h in k.upper() for h in hints)]

    def __repr__(self) -> str:
        return f"Secrets(file names={sorted(self._file)})"
