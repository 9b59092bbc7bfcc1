"""Settings from the environment (CARDBOT_*); secrets are never printed."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_BOT_API_URL = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,}$")
TOKEN_RULE = (
    "a Telegram bot token looks like 123456789:AAH… — 3 to 20 digits, a colon, then 20 or "
    "more letters, digits, _ or -"
)
DEFAULT_WEBHOOK_LISTEN = ("127.0.0.1", 8080)
DEFAULT_TELEGRAM_WEBHOOK_PATH = "/telegram"
# Ports Telegram's own Bot API server calls webhooks on (a self-hosted one calls any).
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
MONITORING_PATHS = ("/healthz", "/metrics")
_LISTEN = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_WEBHOOK_PATH = re.compile(r"^(?:/[A-Za-z0-9._~-]+)+$")


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
    private_chat_burst: int = 20
    group_messages_per_minute: int = 20
    review_chat_id: int | None = None
    review_language: str = "zh"
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    retention_days: int = 180
    flood_burst: int = 30
    flood_per_second: float = 2.0
    document_store: str = "folder"
    webhook_listen: tuple[str, int] = DEFAULT_WEBHOOK_LISTEN
    telegram_webhook_path: str = DEFAULT_TELEGRAM_WEBHOOK_PATH
    public_url: str | None = None
    telegram_secret_token: str | None = field(default=None, repr=False)
    metrics_listen: tuple[str, int] | None = None
    log_format: str = "text"
    # Reading documents (OCR), CARDBOT_OCR: "on" (asked for), "auto" (unset, and the `ocr`
    # extra is installed) or "off". The bot and `cardbot prescreen` read unless "off".
    ocr: str = "off"

    @property
    def documents_dir(self) -> Path:
        """Where document bytes are kept."""
        return self.data_dir / "documents"

    def ensure_data_dir(self) -> None:
        """Create the data folder (private to its owner), or say why it cannot be used."""
        folder = self.data_dir
        advice = "point CARDBOT_DATA_DIR at a folder cardbot may write to"
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"CARDBOT_DATA_DIR: {folder} is not a folder; {advice}")
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"CARDBOT_DATA_DIR: cannot write to {folder} (it exists, but this user may not "
                f"write there); {advice}"
            )
        try:
            self.documents_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            verb = "cannot write to" if folder.is_dir() else "cannot create"
            raise ConfigError(
                f"CARDBOT_DATA_DIR: {verb} {folder} ({exc.strerror}); {advice}"
            ) from None

    def require_token(self) -> str:
        """The bot token, or a ConfigError saying how to get one."""
        if not self.token:
            raise ConfigError(
                "CARDBOT_TOKEN is not set: create a bot with @BotFather and set "
                "CARDBOT_TOKEN to its token (or try `cardbot chat`, which needs none)"
            )
        return self.token

    def require_public_url(self) -> str:
        """The URL Telegram posts updates to (`cardbot run --webhook`), or a ConfigError."""
        if not self.public_url:
            raise ConfigError(
                "CARDBOT_PUBLIC_URL is not set: `cardbot run --webhook` needs the public https "
                "URL where Telegram reaches this server, e.g. https://bot.example.com (updates "
                "are posted to it plus CARDBOT_TELEGRAM_WEBHOOK_PATH)"
            )
        return self.public_url + self.telegram_webhook_path


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
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

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
            f"CARDBOT_TOKEN does not look like a bot token: {TOKEN_RULE} (copy it again from "
            "@BotFather, without spaces or quotes)"
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
        private_chat_burst=_whole(
            env, "CARDBOT_PRIVATE_CHAT_BURST", 20, 1, 100, "messages a chat may get at once"
        ),
        group_messages_per_minute=_whole(
            env, "CARDBOT_GROUP_MESSAGES_PER_MINUTE", 20, 2, 1000, "messages, e.g. 20"
        ),
        review_chat_id=_chat_id(env, "CARDBOT_REVIEW_CHAT_ID"),
        review_language=_review_language(env),
        **_webhook(env),
        secret_key=_secret_key(env),
        retention_days=_whole(env, "CARDBOT_RETENTION_DAYS", 180, 1, 3650, "days, e.g. 180"),
        flood_burst=_whole(env, "CARDBOT_FLOOD_BURST", 30, 1, 1000, "messages, e.g. 30"),
        flood_per_second=_rate(env, "CARDBOT_FLOOD_PER_SECOND", 2.0),
        document_store=_document_store(env),
        webhook_listen=_listen(env, "CARDBOT_WEBHOOK_LISTEN") or DEFAULT_WEBHOOK_LISTEN,
        telegram_webhook_path=_telegram_webhook_path(env),
        public_url=_public_url(env, bot_api_url),
        telegram_secret_token=_telegram_secret_token(env),
        metrics_listen=_listen(env, "CARDBOT_METRICS_LISTEN"),
        log_format=_choice(env, "CARDBOT_LOG_FORMAT", ("text", "json")),
        ocr=_ocr(env),
    )


def _ocr(env: Mapping[str, str]) -> str:
    """CARDBOT_OCR=on|off; unset, "auto" when the OCR packages are installed, else "off"."""
    import importlib.util

    raw = (env.get("CARDBOT_OCR") or "").strip().lower()
    installed = importlib.util.find_spec("rapidocr_onnxruntime") is not None
    if raw == "":
        return "auto" if installed else "off"
    if raw not in ("on", "off"):
        raise ConfigError("CARDBOT_OCR must be on or off (unset: on when OCR is installed)")
    if raw == "on" and not installed:
        raise ConfigError(
            "CARDBOT_OCR=on, but the OCR packages are not installed: pip install 'cardbot[ocr]' "
            "(or set CARDBOT_OCR=off)"
        )
    return raw


def _secret_key(env: Mapping[str, str]) -> str | None:
    """CARDBOT_SECRET_KEY, checked to be a key (so nothing is written before it is known bad)."""
    from cardbot.storage.keys import decode_key  # it imports ConfigError from here

    key = (env.get("CARDBOT_SECRET_KEY") or "").strip() or None
    if key is not None:
        decode_key(key, "CARDBOT_SECRET_KEY")
    return key


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


DOCUMENT_STORES = ("folder", "database")


def _document_store(env: Mapping[str, str]) -> str:
    store = (env.get("CARDBOT_DOCUMENT_STORE") or "folder").strip().lower()
    if store not in DOCUMENT_STORES:
        raise ConfigError(
            "CARDBOT_DOCUMENT_STORE must be folder (documents in CARDBOT_DATA_DIR, for one "
            "machine) or database (documents inside the database, for several machines)"
        )
    return store


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


def _listen(env: Mapping[str, str], name: str) -> tuple[str, int] | None:
    """HOST:PORT (an IPv6 host in brackets) to listen on, or None when unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    match = _LISTEN.match(raw)
    port = int(match.group(3)) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise ConfigError(
            f"{name} must be HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8080, "
            "0.0.0.0:8080 (every interface) or [::1]:8080"
        )
    return match.group(1) or match.group(2), port


def _telegram_webhook_path(env: Mapping[str, str]) -> str:
    path = (env.get("CARDBOT_TELEGRAM_WEBHOOK_PATH") or "").strip() or (
        DEFAULT_TELEGRAM_WEBHOOK_PATH
    )
    if not _WEBHOOK_PATH.match(path) or path in MONITORING_PATHS:
        raise ConfigError(
            "CARDBOT_TELEGRAM_WEBHOOK_PATH must be a URL path such as /telegram or "
            "/telegram/Xq3-hard-to-guess (letters, digits, . _ ~ - between slashes; not "
            "/healthz or /metrics)"
        )
    return path


def _public_url(env: Mapping[str, str], bot_api_url: str) -> str | None:
    url = (env.get("CARDBOT_PUBLIC_URL") or "").strip().rstrip("/")
    if not url:
        return None
    problem = _public_url_problem(url, official=bot_api_url == DEFAULT_BOT_API_URL)
    if problem is not None:
        raise ConfigError(
            f"CARDBOT_PUBLIC_URL must be the public https URL where Telegram reaches this "
            f"server, e.g. https://bot.example.com ({problem}; a self-hosted Bot API server "
            "given by CARDBOT_BOT_API_URL may also call http URLs and any port)"
        )
    return url


def _public_url_problem(url: str, *, official: bool) -> str | None:
    """What keeps Telegram from calling `url` as a webhook, or None."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        return "it is not a URL"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "it is not an http(s) URL with a host name"
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        return "it may not have a query, a fragment or a user name"
    if official and parsed.scheme != "https":
        return "Telegram calls webhooks over HTTPS only"
    if official and port is not None and port not in TELEGRAM_WEBHOOK_PORTS:
        return "Telegram calls webhooks on ports 443, 80, 88 and 8443 only"
    return None


def _telegram_secret_token(env: Mapping[str, str]) -> str | None:
    token = env.get("CARDBOT_TELEGRAM_SECRET_TOKEN") or None
    if token is not None and not _SECRET_TOKEN.match(token):
        raise ConfigError(
            "CARDBOT_TELEGRAM_SECRET_TOKEN must be 1 to 256 characters of A-Z, a-z, 0-9, _ "
            "and - (Telegram's rule); leave it unset to use a new random one at every start"
        )
    return token
