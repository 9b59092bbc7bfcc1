"""Settings from the environment (CARDBOT_*); secrets are never printed."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DEFAULT_BOT_API_URL = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    """Everything cardbot reads from its environment."""

    data_dir: Path
    database_url: str
    dialogs_dir: Path
    bot_api_url: str = DEFAULT_BOT_API_URL
    token: str | None = field(default=None, repr=False)
    faq_dir: Path | None = None
    admin_ids: frozenset[int] = frozenset()
    support_chat_id: int | None = None
    messages_per_second: float = 30.0
    review_chat_id: int | None = None
    review_language: str = "zh"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    retention_days: int = 180
    flood_burst: int = 30
    flood_per_second: float = 2.0
    log_format: str = "text"

    @property
    def documents_dir(self) -> Path:
        """Where document bytes are kept."""
        return self.data_dir / "documents"

    def ensure_data_dir(self) -> None:
        """Create the data folder (private to its owner), or say why it cannot be used."""
        try:
            self.documents_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(
                f"CARDBOT_DATA_DIR: cannot create {self.data_dir} ({exc.strerror}); "
                "point it at a folder cardbot may write to"
            ) from None
        if not os.access(self.data_dir, os.W_OK):
            raise ConfigError(
                f"CARDBOT_DATA_DIR: {self.data_dir} is not writable; "
                "point it at a folder cardbot may write to"
            )

    def require_token(self) -> str:
        """The bot token, or a ConfigError saying how to get one."""
        if not self.token:
            raise ConfigError(
                "CARDBOT_TOKEN is not set: create a bot with @BotFather and set "
                "CARDBOT_TOKEN to its token (or try `cardbot chat`, which needs none)"
            )
        return self.token


def default_content_dir(name: str, marker: str) -> Path:
    """`name`/ in the working directory if it holds `marker`, else the one beside the source."""
    local = Path.cwd() / name
    if (local / marker).exists():
        return local
    return Path(__file__).resolve().parents[2] / name


def default_dialogs_dir() -> Path:
    """dialogs/ in the working directory, else the one beside the source tree."""
    return default_content_dir("dialogs", "flow.yaml")


def _chat_id(env: Mapping[str, str], name: str) -> int | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a Telegram chat id, a whole number such as -1001234567890"
        ) from None


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        rate = float(raw) if raw else default
    except ValueError:
        rate = -1.0
    if not 0 < rate <= 10_000:
        raise ConfigError(f"{name} must be a number of messages per second, e.g. 30")
    return rate


def _user_ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name) or ""
    try:
        return frozenset(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"{name} must list Telegram user ids separated by commas, e.g. 12345,67890"
        ) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check the settings; a bad value raises ConfigError naming the variable."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("CARDBOT_DATA_DIR") or "data").expanduser()
    database_url = env.get("CARDBOT_DATABASE_URL") or f"sqlite:///{data_dir / 'cardbot.db'}"
    try:
        make_url(database_url).get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError, ImportError):
        raise ConfigError(
            "CARDBOT_DATABASE_URL is not a database URL cardbot can use: use e.g. "
            "sqlite:///data/cardbot.db or postgresql+psycopg://user@host/dbname"
        ) from None
    bot_api_url = (env.get("CARDBOT_BOT_API_URL") or DEFAULT_BOT_API_URL).rstrip("/")
    parsed = urlparse(bot_api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            "CARDBOT_BOT_API_URL must be an http(s) URL such as https://api.telegram.org "
            "or http://127.0.0.1:8081"
        )
    token = env.get("CARDBOT_TOKEN") or None
    if token is not None and not _TOKEN.match(token.strip()):
        raise ConfigError(
            "CARDBOT_TOKEN does not look like a bot token (digits, a colon, then letters): "
            "copy it again from @BotFather"
        )
    dialogs_dir = Path(env.get("CARDBOT_DIALOGS_DIR") or default_dialogs_dir())
    if not (dialogs_dir / "flow.yaml").is_file():
        raise ConfigError(
            f"CARDBOT_DIALOGS_DIR: no flow.yaml in {dialogs_dir}; point it at the dialogs/ folder"
        )
    faq_dir = Path(env.get("CARDBOT_FAQ_DIR") or default_content_dir("faq", "."))
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        dialogs_dir=dialogs_dir,
        bot_api_url=bot_api_url,
        token=token.strip() if token else None,
        faq_dir=faq_dir if faq_dir.is_dir() else None,
        admin_ids=_user_ids(env, "CARDBOT_ADMIN_IDS"),
        support_chat_id=_chat_id(env, "CARDBOT_SUPPORT_CHAT_ID"),
        messages_per_second=_rate(env, "CARDBOT_MESSAGES_PER_SECOND", 30.0),
        review_chat_id=_chat_id(env, "CARDBOT_REVIEW_CHAT_ID"),
        review_language=_review_language(env),
        **_webhook(env),
        secret_key=(env.get("CARDBOT_SECRET_KEY") or "").strip() or None,
        retention_days=_whole(env, "CARDBOT_RETENTION_DAYS", 180, 1, 3650, "days, e.g. 180"),
        flood_burst=_whole(env, "CARDBOT_FLOOD_BURST", 30, 1, 1000, "messages, e.g. 30"),
        flood_per_second=_rate(env, "CARDBOT_FLOOD_PER_SECOND", 2.0),
        log_format=_choice(env, "CARDBOT_LOG_FORMAT", ("text", "json")),
    )


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int, what: str) -> int:
    raw = (env.get(name) or "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high} ({what})")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of: {', '.join(choices)}")
    return value


def _review_language(env: Mapping[str, str]) -> str:
    language = (env.get("CARDBOT_REVIEW_LANGUAGE") or "zh").strip().lower()
    if language not in ("zh", "en"):
        raise ConfigError("CARDBOT_REVIEW_LANGUAGE must be zh or en")
    return language


def _webhook(env: Mapping[str, str]) -> dict[str, str | None]:
    url = (env.get("CARDBOT_WEBHOOK_URL") or "").strip() or None
    secret = env.get("CARDBOT_WEBHOOK_SECRET") or None
    if url is None:
        return {"webhook_url": None, "webhook_secret": None}
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("CARDBOT_WEBHOOK_URL must be an http(s) URL of the back office")
    if not secret or len(secret) < 16:
        raise ConfigError(
            "CARDBOT_WEBHOOK_SECRET must be set (16 characters or more) when "
            "CARDBOT_WEBHOOK_URL is: it signs every notification"
        )
    return {"webhook_url": url, "webhook_secret": secret}
