"""Documents are encrypted at rest: unreadable on disk, tamper-evident, and tied to one key."""

from __future__ import annotations

import base64
import os
import stat
import tracemalloc
import uuid
from pathlib import Path

import pytest

from cardbot.config import ConfigError
from cardbot.storage.encrypted import (
    CHUNK_SIZE,
    HEADER_SIZE,
    MAGIC,
    TAG_SIZE,
    DocumentCorruptError,
    DocumentKeyError,
    EncryptedDocumentStore,
)
from cardbot.storage.keys import KEY_FILE, generate_key, load_or_create_key

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = b"ID 110101199003071234; "
# A recognisable plaintext spanning several chunks and ending in a partial one.
DOCUMENT = SECRET * (210 * 1024 // len(SECRET) + 1)


def store(tmp_path: Path, key: bytes = KEY) -> EncryptedDocumentStore:
    return EncryptedDocumentStore(tmp_path / "documents", key)


def stored_file(documents: EncryptedDocumentStore, key: str) -> Path:
    return documents.root / key[:2] / key


def put_bytes(tmp_path: Path, documents: EncryptedDocumentStore, data: bytes) -> str:
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    return documents.put(source)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def temp_files(documents: EncryptedDocumentStore) -> list[Path]:
    return list((documents.root / ".tmp").iterdir())


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"x", DOCUMENT, b"y" * CHUNK_SIZE, b"z" * (2 * CHUNK_SIZE), b"w" * (CHUNK_SIZE + 1)],
    ids=["empty", "one-byte", "multi-chunk", "one-full-chunk", "two-full-chunks", "chunk-plus-1"],
)
def test_put_then_read_returns_the_same_bytes(tmp_path: Path, data: bytes) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, data)
    assert documents.read(key) == data


def test_put_streams_a_large_file_without_holding_it_in_memory(tmp_path: Path) -> None:
    documents = store(tmp_path)
    source = tmp_path / "big.bin"
    with source.open("wb") as out:
        for _ in range(20 * 16):
            out.write(os.urandom(64 * 1024))
    tracemalloc.start()
    try:
        key = documents.put(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    with documents.local_path(key) as path:
        assert path.read_bytes() == source.read_bytes()


def test_local_path_yields_a_private_decrypted_copy_that_is_removed_afterwards(
    tmp_path: Path,
) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    with documents.local_path(key) as path:
        assert path.read_bytes() == DOCUMENT
        assert mode(path) == 0o600
        assert path.parent == documents.root / ".tmp"
    assert not path.exists()
    assert temp_files(documents) == []


def test_local_path_copy_is_removed_even_when_the_caller_fails(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    with pytest.raises(RuntimeError), documents.local_path(key) as path:
        raise RuntimeError("caller failed")
    assert not path.exists()
    assert temp_files(documents) == []


def test_local_path_leaves_no_partial_plaintext_when_the_document_is_damaged(
    tmp_path: Path,
) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    flip_byte(stored_file(documents, key), -1)
    with pytest.raises(DocumentCorruptError), documents.local_path(key):
        pass
    assert temp_files(documents) == []


def test_several_local_paths_can_be_open_at_once(tmp_path: Path) -> None:
    documents = store(tmp_path)
    first = put_bytes(tmp_path, documents, b"first")
    second = put_bytes(tmp_path, documents, b"second")
    with documents.local_path(first) as a, documents.local_path(second) as b:
        assert (a.read_bytes(), b.read_bytes()) == (b"first", b"second")
    assert temp_files(documents) == []


def test_delete_removes_the_document_and_a_missing_key_is_no_error(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, b"data")
    documents.delete(key)
    documents.delete(key)
    assert not stored_file(documents, key).exists()
    with pytest.raises(FileNotFoundError):
        documents.read(key)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "..", "ab/../../x", "A" * 32, ".keycheck"])
def test_keys_cannot_escape_the_store_folder(tmp_path: Path, bad: str) -> None:
    documents = store(tmp_path)
    with pytest.raises(ValueError):
        documents.read(bad)
    with pytest.raises(ValueError):
        documents.delete(bad)
    with pytest.raises(ValueError), documents.local_path(bad):
        pass


def test_a_key_that_is_not_32_bytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        EncryptedDocumentStore(tmp_path, b"short key")
    assert "short key" not in str(caught.value)


# -- confidentiality and file layout ----------------------------------------------------------


def test_the_bytes_on_disk_do_not_contain_the_plaintext(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    on_disk = stored_file(documents, key).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert SECRET[:12] not in on_disk
    assert b"110101199003071234" not in on_disk
    chunks = -(-len(DOCUMENT) // CHUNK_SIZE)
    assert len(on_disk) == HEADER_SIZE + len(DOCUMENT) + chunks * TAG_SIZE


def test_the_header_names_the_key_without_containing_it(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    on_disk = stored_file(documents, key).read_bytes()
    assert KEY not in on_disk
    assert KEY[:8] not in on_disk[:HEADER_SIZE]


def test_the_same_document_encrypts_differently_each_time(tmp_path: Path) -> None:
    documents = store(tmp_path)
    first = put_bytes(tmp_path, documents, DOCUMENT)
    second = put_bytes(tmp_path, documents, DOCUMENT)
    assert (
        stored_file(documents, first).read_bytes() != stored_file(documents, second).read_bytes()
    )


def test_files_are_0600_and_folders_0700(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    documents.check_key()
    assert mode(stored_file(documents, key)) == 0o600
    assert mode(stored_file(documents, key).parent) == 0o700
    assert mode(documents.root) == 0o700
    assert mode(documents.root / ".tmp") == 0o700
    assert mode(documents.root / ".keycheck") == 0o600
    assert not list(documents.root.rglob("*.part"))


def test_stale_decrypted_copies_from_a_crash_are_swept_at_start(tmp_path: Path) -> None:
    documents = store(tmp_path)
    stale = documents.root / ".tmp" / "left-behind"
    stale.write_bytes(SECRET)
    os.utime(stale, (0, 0))
    fresh = documents.root / ".tmp" / "in-use"
    fresh.write_bytes(SECRET)
    store(tmp_path)
    assert not stale.exists()
    assert fresh.exists()


# -- wrong key and tampering ----------------------------------------------------------------


def test_reading_with_another_key_raises_document_key_error(tmp_path: Path) -> None:
    key = put_bytes(tmp_path, store(tmp_path), DOCUMENT)
    other = store(tmp_path, OTHER_KEY)
    with pytest.raises(DocumentKeyError, match=r"different key.*CARDBOT_SECRET_KEY"):
        other.read(key)
    with pytest.raises(DocumentKeyError), other.local_path(key):
        pass
    assert temp_files(other) == []


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "offset",
    [HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + CHUNK_SIZE + 5, -1],
    ids=["nonce-prefix", "first-chunk", "second-chunk", "last-tag"],
)
def test_a_flipped_byte_raises_document_corrupt_error(tmp_path: Path, offset: int) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    flip_byte(stored_file(documents, key), offset)
    with pytest.raises(DocumentCorruptError, match="damaged or was tampered with"):
        documents.read(key)


@pytest.mark.parametrize("data", [DOCUMENT, b"a" * (2 * CHUNK_SIZE)], ids=["partial", "exact"])
def test_dropping_the_last_chunk_raises_document_corrupt_error(
    tmp_path: Path, data: bytes
) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, data)
    path = stored_file(documents, key)
    on_disk = path.read_bytes()
    whole_chunks = (len(data) - 1) // CHUNK_SIZE
    path.write_bytes(on_disk[: HEADER_SIZE + whole_chunks * (CHUNK_SIZE + TAG_SIZE)])
    with pytest.raises(DocumentCorruptError):
        documents.read(key)


def test_cutting_the_file_short_raises_document_corrupt_error(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, DOCUMENT)
    path = stored_file(documents, key)
    for length in (len(path.read_bytes()) - 1, HEADER_SIZE, HEADER_SIZE - 1, 0):
        path.write_bytes(path.read_bytes()[:length])
        with pytest.raises(DocumentCorruptError):
            documents.read(key)


def test_appending_a_chunk_raises_document_corrupt_error(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, b"a" * CHUNK_SIZE)
    path = stored_file(documents, key)
    on_disk = path.read_bytes()
    path.write_bytes(on_disk + on_disk[HEADER_SIZE:])
    with pytest.raises(DocumentCorruptError):
        documents.read(key)


def test_reordering_chunks_raises_document_corrupt_error(tmp_path: Path) -> None:
    documents = store(tmp_path)
    key = put_bytes(tmp_path, documents, b"a" * CHUNK_SIZE + b"b" * CHUNK_SIZE + b"c")
    path = stored_file(documents, key)
    on_disk = path.read_bytes()
    sealed = CHUNK_SIZE + TAG_SIZE
    first = on_disk[HEADER_SIZE : HEADER_SIZE + sealed]
    second = on_disk[HEADER_SIZE + sealed : HEADER_SIZE + 2 * sealed]
    rest = on_disk[HEADER_SIZE + 2 * sealed :]
    path.write_bytes(on_disk[:HEADER_SIZE] + second + first + rest)
    with pytest.raises(DocumentCorruptError):
        documents.read(key)


def test_swapping_two_whole_files_raises_document_corrupt_error(tmp_path: Path) -> None:
    documents = store(tmp_path)
    first = put_bytes(tmp_path, documents, b"first applicant's passport")
    second = put_bytes(tmp_path, documents, b"second applicant's passport")
    a, b = stored_file(documents, first), stored_file(documents, second)
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    for key in (first, second):
        with pytest.raises(DocumentCorruptError):
            documents.read(key)


def test_splicing_a_chunk_from_another_file_raises_document_corrupt_error(tmp_path: Path) -> None:
    documents = store(tmp_path)
    first = put_bytes(tmp_path, documents, DOCUMENT)
    second = put_bytes(tmp_path, documents, DOCUMENT)
    a, b = stored_file(documents, first), stored_file(documents, second)
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    sealed = CHUNK_SIZE + TAG_SIZE
    a.write_bytes(a_bytes[: HEADER_SIZE + sealed] + b_bytes[HEADER_SIZE + sealed :])
    with pytest.raises(DocumentCorruptError):
        documents.read(first)


def plain_file(root: Path, data: bytes) -> str:
    """A document as cardbot stored it before encryption: the plain bytes, same layout."""
    key = uuid.uuid4().hex
    (root / key[:2]).mkdir(parents=True, exist_ok=True)
    (root / key[:2] / key).write_bytes(data)
    return key


def test_an_unmigrated_plain_file_is_refused_not_returned(tmp_path: Path) -> None:
    key = plain_file(tmp_path / "documents", DOCUMENT)
    with pytest.raises(DocumentCorruptError, match="migrate_plaintext"):
        store(tmp_path).read(key)


# -- migration and key check ----------------------------------------------------------------


def test_migrate_plaintext_encrypts_legacy_files_that_read_back_the_same(tmp_path: Path) -> None:
    originals: dict[str, bytes] = {}
    for data in [DOCUMENT, b"", b"small", b"c" * CHUNK_SIZE]:
        originals[plain_file(tmp_path / "documents", data)] = data
    documents = store(tmp_path)
    already = put_bytes(tmp_path, documents, b"already encrypted")
    before = stored_file(documents, already).read_bytes()

    assert documents.migrate_plaintext() == len(originals)

    for key, data in originals.items():
        on_disk = stored_file(documents, key).read_bytes()
        assert on_disk.startswith(MAGIC)
        assert data == b"" or data[:16] not in on_disk
        assert mode(stored_file(documents, key)) == 0o600
        assert documents.read(key) == data
    assert stored_file(documents, already).read_bytes() == before
    assert documents.read(already) == b"already encrypted"
    assert documents.migrate_plaintext() == 0
    assert not list(documents.root.rglob("*.part"))


def test_migrate_plaintext_leaves_other_files_alone(tmp_path: Path) -> None:
    documents = store(tmp_path)
    documents.check_key()
    keycheck = (documents.root / ".keycheck").read_bytes()
    stray = documents.root / "ab" / "notes.txt"
    stray.parent.mkdir()
    stray.write_bytes(b"not a document")
    assert documents.migrate_plaintext() == 0
    assert stray.read_bytes() == b"not a document"
    assert (documents.root / ".keycheck").read_bytes() == keycheck


def test_check_key_passes_with_the_same_key_and_creates_the_check_file_once(
    tmp_path: Path,
) -> None:
    store(tmp_path).check_key()
    check_file = tmp_path / "documents" / ".keycheck"
    content = check_file.read_bytes()
    assert content.startswith(MAGIC)
    store(tmp_path).check_key()
    assert check_file.read_bytes() == content


def test_check_key_detects_a_changed_key_at_start_up(tmp_path: Path) -> None:
    store(tmp_path).check_key()
    with pytest.raises(DocumentKeyError, match=r"different key.*CARDBOT_SECRET_KEY"):
        store(tmp_path, OTHER_KEY).check_key()


def test_check_key_detects_a_changed_key_even_without_a_check_file(tmp_path: Path) -> None:
    put_bytes(tmp_path, store(tmp_path), b"document")
    other = store(tmp_path, OTHER_KEY)
    with pytest.raises(DocumentKeyError):
        other.check_key()
    assert not (other.root / ".keycheck").exists()


def test_check_key_reports_a_damaged_check_file(tmp_path: Path) -> None:
    documents = store(tmp_path)
    documents.check_key()
    flip_byte(documents.root / ".keycheck", -1)
    with pytest.raises(DocumentCorruptError, match="key-check file"):
        documents.check_key()


def test_error_messages_never_contain_the_key(tmp_path: Path) -> None:
    key = put_bytes(tmp_path, store(tmp_path), DOCUMENT)
    messages = []
    for action in (
        lambda: store(tmp_path, OTHER_KEY).read(key),
        store(tmp_path, OTHER_KEY).check_key,
    ):
        with pytest.raises(DocumentKeyError) as caught:
            action()
        messages.append(str(caught.value))
    flip_byte(stored_file(store(tmp_path), key), -1)
    with pytest.raises(DocumentCorruptError) as damaged:
        store(tmp_path).read(key)
    messages.append(str(damaged.value))
    for message in messages:
        for secret in (KEY, OTHER_KEY):
            assert secret.hex() not in message
            assert base64.urlsafe_b64encode(secret).decode() not in message
            assert repr(secret) not in message


# -- key loading ----------------------------------------------------------------------------


def test_a_key_is_generated_once_and_then_reused(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path, None)
    second = load_or_create_key(tmp_path, None)
    assert first == second
    assert len(first) == 32
    assert mode(tmp_path / KEY_FILE) == 0o600
    assert base64.urlsafe_b64decode((tmp_path / KEY_FILE).read_text().strip()) == first
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_a_key_created_by_another_process_first_is_used(tmp_path: Path) -> None:
    theirs = generate_key()
    fd = os.open(tmp_path / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(theirs + "\n")
    assert load_or_create_key(tmp_path, None) == base64.urlsafe_b64decode(theirs)


def test_the_configured_key_is_used_and_no_key_file_is_written(tmp_path: Path) -> None:
    configured = generate_key()
    assert load_or_create_key(tmp_path, configured) == base64.urlsafe_b64decode(configured)
    assert load_or_create_key(tmp_path, configured.rstrip("=")) == base64.urlsafe_b64decode(
        configured
    )
    assert not (tmp_path / KEY_FILE).exists()


def test_generated_keys_are_random_32_byte_url_safe_base64() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(base64.urlsafe_b64decode(first)) == 32


@pytest.mark.parametrize(
    "configured",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(os.urandom(16)).decode(),
        base64.urlsafe_b64encode(os.urandom(33)).decode(),
        base64.b64encode(b"\xfb" * 32).decode(),  # standard, not URL-safe, base64
        base64.urlsafe_b64encode(os.urandom(32)).decode()[:-2] + "!=",
    ],
    ids=["garbage", "too-short", "too-long", "standard-alphabet", "bad-character"],
)
def test_a_malformed_configured_key_is_a_config_error_that_says_how_to_make_one(
    tmp_path: Path, configured: str
) -> None:
    with pytest.raises(ConfigError, match="CARDBOT_SECRET_KEY") as caught:
        load_or_create_key(tmp_path, configured)
    assert "urlsafe_b64encode(os.urandom(32))" in str(caught.value)
    assert configured not in str(caught.value)


def test_a_key_file_readable_by_others_is_a_config_error(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, None)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_or_create_key(tmp_path, None)


def test_a_malformed_key_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("this is not a key")
    with pytest.raises(ConfigError, match="malformed") as caught:
        load_or_create_key(tmp_path, None)
    assert "this is not a key" not in str(caught.value)
    assert path.read_text() == "this is not a key"


def test_key_loading_errors_never_contain_the_key(tmp_path: Path) -> None:
    key_text = load_or_create_key(tmp_path, None)
    encoded = (tmp_path / KEY_FILE).read_text().strip()
    (tmp_path / KEY_FILE).chmod(0o640)
    with pytest.raises(ConfigError) as caught:
        load_or_create_key(tmp_path, None)
    assert encoded not in str(caught.value)
    assert key_text.hex() not in str(caught.value)
    near_miss = encoded[:-2] + "*="
    with pytest.raises(ConfigError) as caught:
        load_or_create_key(tmp_path, near_miss)
    assert encoded[:-2] not in str(caught.value)
