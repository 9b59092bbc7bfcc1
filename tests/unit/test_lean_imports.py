"""A bot process loads only what it uses (issue 22): these guard the savings measured in
docs/performance.md, "Memory of a worker"."""

from __future__ import annotations

import subprocess
import sys

from snowballstemmer.english_stemmer import EnglishStemmer

from cardbot.core import faq_terms


def loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `code`."""
    listing = "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    probe = f"import sys\n{code}\n{listing}"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_faq_stems_with_the_c_stemmer_and_gets_the_pure_python_stems() -> None:
    pure = EnglishStemmer()
    words = ["approval", "approved", "documents", "resubmitting", "licences", "rejected"]
    assert [faq_terms._stem(w) for w in words] == [pure.stemWord(w) for w in words]
    assert type(faq_terms._STEMMER).__module__ == "Stemmer"


def test_the_bot_process_does_not_load_what_only_workers_or_commands_need() -> None:
    loaded = loaded_after(
        "import cardbot.runtime, cardbot.telegram.bot, cardbot.telegram.polling\n"
        "from cardbot.core.faq_terms import tokens; tokens('审批要多久 how long')"
    )
    assert not loaded & {"PIL", "pypdf", "numpy", "scipy", "imagehash", "alembic", "holidays"}
    assert not loaded & {"matplotlib", "rapidocr_onnxruntime", "onnxruntime", "cv2", "pypinyin"}


def test_the_command_line_starts_without_the_database_layer_or_telegram() -> None:
    loaded = loaded_after(
        "import contextlib, io\n"
        "from cardbot.__main__ import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])"
    )
    assert not loaded & {"sqlalchemy", "telegram", "alembic", "opencc", "jinja2", "matplotlib"}


def test_opencc_is_loaded_only_for_a_question_in_traditional_characters() -> None:
    assert "opencc" not in loaded_after(
        "from cardbot.core.faq_terms import tokens; tokens('审批要多久？营业执照 how long')"
    )
    assert "opencc" in loaded_after("from cardbot.core.faq_terms import tokens; tokens('審批')")
    assert faq_terms.normalise("審批需要多長時間") == "审批需要多长时间"
    assert faq_terms.normalise("审批需要多长时间") == "审批需要多长时间"
