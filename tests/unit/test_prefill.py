"""Answers read from the document photos, proposed instead of typed (issue 20): the flow of
documents read puts the documents first, proposes what was read once its question comes, and
takes it with one tap; typing stays possible, and anything stale, forged or misread changes
nothing. Reading itself is tests/integration's; here the core gets what reading would find."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cardbot.content.loader import ContentError, load_spec
from cardbot.core.events import DocumentRead, DocumentsRead, Incoming, UserRef
from cardbot.core.model import Status
from cardbot.core.replies import Reply
from cardbot.reading.model import (
    BUSINESS_LICENSE,
    ID_BACK,
    ID_FRONT,
    NO_TEXT,
    PASSPORT,
    READ,
    Reading,
)
from cardbot.reading.prefill import FIELDS, PrefillReader, delivery_key, document_read
from tests.support import files
from tests.support.harness import DIALOGS, VALID_ID, VALID_PHONE, VALID_USCC, Harness

READ_ID = {ID_FRONT: {"full_name": "王芳", "id_number": VALID_ID}}
READ_LICENCE = {BUSINESS_LICENSE: {"company_name": "Acme Trading Co., Ltd.", "uscc": VALID_USCC}}


@pytest.fixture
def chat(tmp_path: Path) -> Harness:
    """An applicant talking to the core in the flow of documents read."""
    return Harness(tmp_path, reading=True)


def send_id_card(chat: Harness, seeds: tuple[int, int] = (1, 2)) -> None:
    """Both sides of the ID card, as one album."""
    chat.upload(files.photo(seed=seeds[0]), group=f"album-{seeds}")
    chat.upload(files.photo(seed=seeds[1]), group=f"album-{seeds}")


def test_with_reading_off_the_flow_is_the_typed_one_as_before(tmp_path: Path) -> None:
    chat = Harness(tmp_path)
    chat.start_as("individual")
    assert chat.state == "full_name"
    chat.text("王芳")
    assert chat.state == "id_type"  # asked, not assumed
    assert chat.service.readings_wanted(chat.user.user_id) == {}


def test_documents_come_first_with_the_resident_id_assumed_and_a_passport_one_tap_away(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    assert chat.state == "phone"
    chat.text(VALID_PHONE)
    assert chat.state == "id_card"
    assert chat.applicant.application.answers["id_type"] == "resident_id"  # type: ignore[union-attr]
    assert "pick:id_type:passport" in chat.buttons
    chat.press("pick:id_type:passport")
    assert chat.state == "passport_page"
    assert "pick:id_type:resident_id" in chat.buttons
    chat.press("pick:id_type:resident_id")
    assert chat.state == "id_card"


def test_a_switch_is_refused_where_no_document_step_it_decides_is_asked(chat: Harness) -> None:
    chat.start_as("individual")
    before = chat.applicant
    chat.press("pick:id_type:passport")  # at the phone step: forged
    assert chat.last is not None and chat.sent[0].toast
    assert chat.applicant == before


def test_an_individual_confirms_and_submits_in_six_actions(chat: Harness) -> None:
    chat.start_as("individual")  # /start, consent, category: 3
    chat.text(VALID_PHONE)  # 4
    send_id_card(chat)  # 5: one album
    assert chat.state == "full_name"
    assert "正在读取照片上的文字" in chat.last.text  # type: ignore[union-attr]
    chat.documents_read(READ_ID)
    assert "王芳" in chat.last.text and "1101**********002X" in chat.last.text  # type: ignore[union-attr]
    assert VALID_ID not in chat.last.text  # type: ignore[union-attr]
    chat.tap("提交申请")  # 6
    assert chat.state == "submitted"
    app = chat.applicant.application
    assert app is not None and app.status == Status.SUBMITTED
    assert app.answers["full_name"] == "王芳" and app.answers["id_number"] == VALID_ID
    assert app.proposed == {}  # nothing read is kept beyond the submission


def test_an_enterprise_confirms_both_documents_in_eleven_actions(chat: Harness) -> None:
    chat.start_as("enterprise")  # 3
    chat.text(VALID_PHONE)  # 4
    send_id_card(chat)  # 5
    chat.documents_read(READ_ID)
    chat.tap("对，就是这些")  # 6
    assert chat.state == "business_license"
    chat.upload(files.pdf())  # 7
    chat.documents_read(READ_LICENCE)
    assert "Acme Trading Co., Ltd." in chat.last.text  # type: ignore[union-attr]
    chat.tap("对，就是这些")  # 8
    assert chat.state == "daily_call_volume"
    chat.text("300")  # 9
    chat.upload(files.photo(seed=9, fmt="PNG"))  # 10
    assert chat.state == "summary"
    chat.press("nav:submit")  # 11
    assert chat.state == "submitted"


def test_a_passport_is_read_for_the_name_and_its_number(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    chat.press("pick:id_type:passport")
    chat.upload(files.photo(seed=8))
    assert chat.service.readings_wanted(chat.user.user_id).keys() == {PASSPORT}
    chat.documents_read({PASSPORT: {"full_name": "WANG FANG", "id_number": "E12345678"}})
    assert "WANG FANG" in chat.last.text and "E1*****78" in chat.last.text  # type: ignore[union-attr]
    chat.tap("提交申请")
    app = chat.applicant.application
    assert app is not None and app.status == Status.SUBMITTED
    assert app.answers["id_type"] == "passport" and app.answers["id_number"] == "E12345678"


def test_a_reading_waits_for_its_question_and_is_shown_when_it_comes(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    chat.upload(files.photo(seed=1))  # the front only: the back is still asked
    assert chat.service.readings_wanted(chat.user.user_id).keys() == {ID_FRONT}
    assert chat.documents_read(READ_ID) == []  # kept, not shown in the middle of the album
    replies = chat.upload(files.photo(seed=2))
    assert chat.state == "full_name"
    assert "王芳" in replies[-1].text and "正在读取" not in replies[-1].text


def test_typing_stays_possible_while_a_proposal_is_shown(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read(READ_ID)
    chat.text("王小芳")  # typed instead of the name read
    assert chat.state == "id_number"
    assert "1101**********002X" in chat.last.text  # type: ignore[union-attr]
    assert "王芳" not in chat.last.text  # type: ignore[union-attr]
    chat.tap("提交申请")
    app = chat.applicant.application
    assert app is not None and app.answers["full_name"] == "王小芳"


def test_turning_a_proposal_down_asks_for_typing_and_that_photo_is_not_proposed_again(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read(READ_ID)
    chat.tap("自己输入")
    assert chat.state == "full_name" and "真实姓名" in chat.last.text  # type: ignore[union-attr]
    assert chat.service.readings_wanted(chat.user.user_id) == {}
    assert chat.press("nav:prefill:full_name")[0].text.startswith("这个按钮")  # stale
    chat.text("王芳")
    assert chat.state == "id_number"


def test_a_new_photo_is_read_and_proposed_afresh(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read(READ_ID)
    chat.tap("自己输入")
    chat.press("nav:back:full_name")
    assert chat.state == "id_card"
    send_id_card(chat, seeds=(3, 4))
    assert ID_FRONT in chat.service.readings_wanted(chat.user.user_id)
    chat.documents_read(READ_ID)
    assert "王芳" in chat.last.text  # type: ignore[union-attr]


def test_a_reading_of_a_photo_replaced_meanwhile_proposes_nothing(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    _key, old_sha = chat.service.readings_wanted(chat.user.user_id)[ID_FRONT]
    chat.press("nav:back:full_name")
    send_id_card(chat, seeds=(5, 6))
    before = chat.applicant
    stale = DocumentsRead((DocumentRead(ID_FRONT, old_sha, READ_ID[ID_FRONT]),))
    assert chat.send(stale, key="read:stale") == []
    assert chat.applicant == before


def test_what_is_read_is_checked_like_typed_text_and_a_misread_number_is_not_proposed(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read({ID_FRONT: {"full_name": "王芳", "id_number": "110105194912310021"}})
    assert "王芳" in chat.last.text and "证件号码" not in chat.last.text  # type: ignore[union-attr]
    chat.tap("对，就是这些")
    assert chat.state == "id_number"
    assert "居民身份证号码" in chat.last.text  # type: ignore[union-attr]


def test_a_photo_with_no_text_asks_for_typing_or_a_sharper_photo(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read({}, unreadable=True)
    assert "没能从身份证人像面（正面）上读出" in chat.last.text  # type: ignore[union-attr]
    assert "不够清晰" in chat.last.text  # type: ignore[union-attr]
    assert "nav:back:full_name" in chat.buttons
    assert chat.service.readings_wanted(chat.user.user_id) == {}  # not read again
    assert chat.db.tally[(chat.clock.now().date(), "problem", "unreadable_text", "id_card")] == 1


def test_a_blurry_photo_asks_for_a_sharp_one_and_is_counted(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read({}, unreadable=True, blurry=True)
    assert "太模糊" in chat.last.text  # type: ignore[union-attr]
    assert chat.db.tally[(chat.clock.now().date(), "problem", "image_blurry", "id_card")] == 1


def test_a_reading_delivered_twice_is_applied_once(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    _key, sha = chat.service.readings_wanted(chat.user.user_id)[ID_FRONT]
    event = DocumentsRead((DocumentRead(ID_FRONT, sha, READ_ID[ID_FRONT]),))
    chat.send(event, key="read:once")
    assert [r.template for r in chat.sent] == ["prefill_proposal"]
    after_first = chat.applicant
    assert chat.send(event, key="read:once") == []  # already sent: nothing again
    assert chat.delivered == []
    assert chat.applicant == after_first


def test_a_reading_keeps_what_the_applicants_last_message_left_pending(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.text("王 芳 是 我 的 名 字 吗 ？")  # a question or an answer? the bot asks
    pending = (chat.applicant.pending_action, chat.applicant.pending_text)
    chat.documents_read(READ_ID)
    assert (chat.applicant.pending_action, chat.applicant.pending_text) == pending


def test_a_submitted_application_takes_no_proposal(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    _key, sha = chat.service.readings_wanted(chat.user.user_id)[ID_FRONT]
    chat.documents_read(READ_ID)
    chat.tap("提交申请")
    before = chat.applicant
    event = DocumentsRead((DocumentRead(ID_FRONT, sha, READ_ID[ID_FRONT]),))
    assert chat.send(event, key="read:late") == []
    assert chat.applicant == before


# -- the reading's side: what the core is told -----------------------------------------------


def test_every_answer_the_flow_lets_a_photo_fill_has_a_field_read_for_it() -> None:
    plan = load_spec(DIALOGS).reading
    assert plan is not None
    wanted = {(slot, step) for slot, steps in plan.fills.items() for step in steps}
    assert wanted <= set(FIELDS)


def test_a_photo_of_the_other_side_gives_nothing_and_no_text_is_told() -> None:
    back_as_front = Reading(ID_FRONT, READ, looks_like=ID_BACK, name="王芳", id_number=VALID_ID)
    assert document_read(back_as_front, "s", ("full_name", "id_number")).values == {}
    blank = Reading(ID_FRONT, NO_TEXT)
    assert document_read(blank, "s", ("full_name",)).unreadable
    assert not document_read(blank, "s", ("full_name",)).blurry
    blurred = Reading(ID_FRONT, NO_TEXT, image_blurry=True)
    assert document_read(blurred, "s", ("full_name",)).blurry
    licence = Reading(BUSINESS_LICENSE, READ, company_name="甲公司", uscc_from_qr=VALID_USCC)
    assert document_read(licence, "s", ("company_name", "uscc")).values == {
        "company_name": "甲公司",
        "uscc": VALID_USCC,
    }


def test_the_same_stored_uploads_make_the_same_delivery_key_a_new_upload_another() -> None:
    wanted = {ID_FRONT: ("k1", "a" * 64), BUSINESS_LICENSE: ("k2", "b" * 64)}
    assert delivery_key(7, wanted) == delivery_key(7, dict(reversed(wanted.items())))
    assert delivery_key(7, wanted) != delivery_key(8, wanted)
    sent_again = {**wanted, ID_FRONT: ("k3", "a" * 64)}  # the same photo, stored anew
    assert delivery_key(7, sent_again) != delivery_key(7, wanted)
    assert len(delivery_key(2**62, wanted)) <= 128


# -- dialogs/flow.yaml's reading section --------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("reading: {order: [phone]}", "reading.order: must list every step id exactly once"),
        (
            "reading: {order: [id_card, id_type, phone, passport_page, full_name, id_number, "
            "business_license, company_name, uscc, daily_call_volume, tax_registration]}",
            "id_card must come after id_type",
        ),
        ("reading: {assume: {phone: x}}", "reading.assume.phone"),
        ("reading: {fills: {selfie: [full_name]}}", "reading.fills.selfie"),
        ("reading: {fills: {id_front: [id_type]}}", "must list text steps"),
    ],
)
def test_a_wrong_reading_section_is_named(tmp_path: Path, section: str, problem: str) -> None:
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "reasons.yaml").write_bytes((DIALOGS / "reasons.yaml").read_bytes())
    text = (DIALOGS / "flow.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("\nreading:")
    tail = rest[rest.index("\n# Files accepted") :]
    flow = f"{head}\n{section}\n{tail}"
    if "order" not in section:
        order = rest[rest.index("order:") : rest.index("assume:")]
        flow = flow.replace("reading: {", "reading: {" + order.replace("\n", " ").strip() + ", ")
    (dialogs / "flow.yaml").write_text(flow, encoding="utf-8")
    with pytest.raises(ContentError, match=problem.replace(".", r"\.")):
        load_spec(dialogs)


class RecordingService:
    """The service's side a PrefillReader uses, recording what it is handed."""

    def __init__(self) -> None:
        self.spec = load_spec(DIALOGS).for_reading()
        self.documents = self
        self.handled: list[Incoming] = []

    def readings_wanted(self, user_id: int) -> dict[str, tuple[str, str]]:
        return {ID_FRONT: (f"key-{user_id}", "a" * 64)}

    def read(self, storage_key: str) -> bytes:
        return storage_key.encode()

    def handle(self, incoming: Incoming) -> list[Reply]:
        self.handled.append(incoming)
        return [Reply("prefill_proposal", incoming.user.chat_id, "zh")]


def test_an_applicant_has_one_reading_at_a_time_however_many_photos_they_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()
    reads: list[list[str]] = []

    def read_all(sources: list[tuple[str, bytes]]) -> list[Reading]:
        reads.append([kind for kind, _source in sources])
        started.set()
        release.wait(10)
        return [Reading(ID_FRONT, READ, name="王芳", id_number=VALID_ID)]

    monkeypatch.setattr("cardbot.reading.prefill.read_all", read_all)
    service = RecordingService()
    reader = PrefillReader(service)  # type: ignore[arg-type]
    user = UserRef(5, 5)
    first: list[list[Reply]] = []
    worker = threading.Thread(target=lambda: first.append(reader.read_and_propose(user)))
    worker.start()
    assert started.wait(10)
    for _upload in range(19):  # more photos while the first is being read
        assert reader.read_and_propose(user) == []
    release.set()
    worker.join(10)
    assert len(reads) == 2  # the first, and one more round for all the later uploads
    assert len(first[0]) == 2 and len(service.handled) == 2
    assert service.handled[0].event == DocumentsRead(
        (DocumentRead(ID_FRONT, "a" * 64, {"full_name": "王芳", "id_number": VALID_ID}),)
    )
    assert reader.read_and_propose(UserRef(6, 6)) != []  # others are not held up by it


# -- what the review of this change found --------------------------------------------------------


def proposal_buttons(chat: Harness) -> dict[str, str]:
    """The confirm and type-instead buttons of the last message, by action."""
    return {data.split(":")[1]: data for data in chat.buttons if data.startswith("nav:")}


def test_an_older_proposals_button_cannot_confirm_or_submit_a_newer_one(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read({ID_FRONT: {"full_name": "王芳"}})  # the number not read
    old = proposal_buttons(chat)["prefill"]
    chat.upload(files.photo(seed=30))  # by mistake: refused, the proposal keeps its buttons
    chat.press("nav:back:full_name")
    send_id_card(chat, seeds=(31, 32))
    chat.documents_read({ID_FRONT: {"full_name": "王小芳", "id_number": VALID_ID}})
    new = proposal_buttons(chat)["prefill"]
    assert "提交申请" in chat.last.text  # type: ignore[union-attr]
    before = chat.applicant
    assert chat.press(old)[0].text.startswith("这个按钮")  # stale: nothing confirmed
    assert chat.applicant == before
    chat.press(new)
    app = chat.applicant.application
    assert app is not None and app.status == Status.SUBMITTED
    assert app.answers["full_name"] == "王小芳"


def test_confirm_and_type_instead_forged_anywhere_else_change_nothing(chat: Harness) -> None:
    for data in ("nav:prefill:new", "nav:manual:consent:x", "nav:prefill:category:0"):
        assert chat.press(data)[0].text  # refused kindly, no error
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read(READ_ID)
    before = chat.applicant
    for data in ("nav:prefill:full_name", "nav:prefill:full_name:00000000", "nav:manual:id_card"):
        assert chat.press(data)[0].text.startswith("这个按钮")
    assert chat.applicant == before


def reader_reading(
    monkeypatch: pytest.MonkeyPatch, chat: Harness, found: dict[str, Reading]
) -> list[list[str]]:
    """A PrefillReader on the harness's core whose pool finds `found` (by slot); returns the
    list of readings asked for, as it grows."""
    asked: list[list[str]] = []

    def read_all(sources: list[tuple[str, bytes]]) -> list[Reading]:
        asked.append([slot for slot, _source in sources])
        return [found.get(slot, Reading(slot, READ)) for slot, _source in sources]

    monkeypatch.setattr("cardbot.reading.prefill.read_all", read_all)
    return asked


FRONT_READ = Reading(ID_FRONT, READ, name="王芳", id_number=VALID_ID)


def test_the_same_photo_sent_again_is_read_and_proposed_again(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = reader_reading(monkeypatch, chat, {ID_FRONT: FRONT_READ})
    reader = PrefillReader(chat.service)
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    replies = reader.read_and_propose(chat.user)
    assert [r.template for r in replies] == ["prefill_proposal"]
    chat.last = chat.renderer.render(replies[-1])
    chat.tap("自己输入")
    chat.press("nav:back:full_name")
    send_id_card(chat)  # the very same photos, stored again
    replies = reader.read_and_propose(chat.user)
    assert asked.count([ID_FRONT]) == 2 and [r.template for r in replies] == ["prefill_proposal"]
    reader.close()


def test_after_a_switch_to_the_passport_only_the_passport_is_read_and_proposed(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    passport = Reading(PASSPORT, READ, passport_name="WANG FANG", passport_number="E12345678")
    asked = reader_reading(monkeypatch, chat, {ID_FRONT: FRONT_READ, PASSPORT: passport})
    reader = PrefillReader(chat.service)
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    reader.read_and_propose(chat.user)  # the ID card's name and number proposed
    chat.press("nav:back:full_name")
    chat.press("pick:id_type:passport")
    assert chat.applicant.application.proposed == {}  # type: ignore[union-attr]
    chat.upload(files.photo(seed=40))
    reader.read_and_propose(chat.user)
    assert asked[-1] == [PASSPORT]
    chat.command("summary")
    chat.press("nav:continue")
    assert "WANG FANG" in chat.last.text and "E1*****78" in chat.last.text  # type: ignore[union-attr]
    reader.close()


def test_a_later_upload_during_the_last_rounds_decision_is_still_read(
    chat: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = reader_reading(monkeypatch, chat, {})
    reader = PrefillReader(chat.service)
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)

    class UploadAfterRelease:
        """The reader's lock; once, right after the round decides to stop, another upload
        asks for a reading (what a second thread would do at that moment)."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.releases = 0

        def __enter__(self) -> None:
            self.lock.acquire()

        def __exit__(self, *_exc: object) -> None:
            self.lock.release()
            self.releases += 1
            if self.releases == 2:  # the first round's decision: a new photo comes
                chat.press("nav:back:full_name")
                send_id_card(chat, seeds=(50, 51))
                reader.read_and_propose(chat.user)

    reader._lock = UploadAfterRelease()  # type: ignore[assignment]
    reader.read_and_propose(chat.user)
    assert asked.count([ID_FRONT]) == 2
    reader.close()


def test_a_reading_for_someone_who_erased_everything_meanwhile_stores_nothing(
    chat: Harness,
) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    _key, sha = chat.service.readings_wanted(chat.user.user_id)[ID_FRONT]
    chat.command("delete")
    chat.tap("全部删除")
    event = DocumentsRead((DocumentRead(ID_FRONT, sha, READ_ID[ID_FRONT]),))
    assert chat.send(event, key="read:after-delete") == []
    assert chat.db.applicants == {} or chat.user.user_id not in chat.db.applicants


def test_with_reading_switched_off_stored_proposals_are_not_shown(tmp_path: Path) -> None:
    reading = Harness(tmp_path, reading=True)
    reading.start_as("individual")
    reading.text(VALID_PHONE)
    send_id_card(reading)
    reading.documents_read(READ_ID)
    typed = Harness(tmp_path, db=reading.db, documents=reading.documents)  # restarted, off
    typed.command("start")
    assert typed.state == "full_name"
    assert "王芳" not in typed.last.text and "nav:prefill" not in str(typed.buttons)  # type: ignore[union-attr]


def test_a_blurry_back_of_the_id_card_is_told_at_once_and_not_read_again(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    wanted = chat.service.readings_wanted(chat.user.user_id)
    assert wanted.keys() == {ID_FRONT, ID_BACK}
    event = DocumentsRead(
        (
            DocumentRead(ID_FRONT, wanted[ID_FRONT][1], READ_ID[ID_FRONT]),
            DocumentRead(ID_BACK, wanted[ID_BACK][1], {}, unreadable=True, blurry=True),
        )
    )
    chat.send(event, key="read:back")
    templates = [reply.template for reply in chat.sent]
    assert templates == ["photo_unreadable", "prefill_proposal"]
    told = chat.renderer.render(chat.sent[0]).text
    assert "身份证国徽面（背面）的照片太模糊" in told and "身份证正反面" in told
    assert chat.db.tally[(chat.clock.now().date(), "problem", "image_blurry", "id_card")] == 1
    assert chat.service.readings_wanted(chat.user.user_id) == {}


def test_a_clear_back_is_checked_silently_once(chat: Harness) -> None:
    chat.start_as("individual")
    chat.text(VALID_PHONE)
    send_id_card(chat)
    chat.documents_read(READ_ID)
    assert [reply.template for reply in chat.sent] == ["prefill_proposal"]
    assert chat.service.readings_wanted(chat.user.user_id) == {}


def test_uploads_choices_and_start_begin_a_reading_other_updates_do_not() -> None:
    from cardbot.core.events import ButtonPress, Command, FileUpload, IncomingFile, Text
    from cardbot.telegram.bot import may_bring_photos_to_read

    upload = FileUpload(IncomingFile(None, 0))
    assert may_bring_photos_to_read(upload)
    assert may_bring_photos_to_read(ButtonPress("pick:id_type:passport"))
    assert may_bring_photos_to_read(Command("start"))  # takes up one a restart cut off
    for other in (Text("王芳"), ButtonPress("nav:summary"), Command("status")):
        assert not may_bring_photos_to_read(other)
