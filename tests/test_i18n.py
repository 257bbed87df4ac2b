"""Internationalisation: the UI in English, 简体中文 and Русский, and catalogs that are complete and compiled.

The pages are rendered through the real middleware (cookie, Accept-Language, the language switcher);
the catalogs are read straight from ``locale/`` so a forgotten translation, a broken placeholder or a
``.mo`` that was not recompiled after the ``.po`` changed fails here rather than in front of a seller.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation import to_locale

from tests.fixtures import make_shop, web_client_for

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
# Every language but the source one has a catalog, named by its locale (zh-hans -> zh_Hans).
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
NPLURALS = {"zh-hans": 1, "ru": 3}
LOGIN = "/accounts/login/"


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# ---------------------------------------------------------------------------------------------
# Pages


def test_login_page_is_english_by_default(client: Client):
    html = _page(client.get(LOGIN))
    assert '<html lang="en">' in html
    assert "<title>Log in</title>" in html
    assert "Log in</button>" in html
    assert "Open a shop" in html


@pytest.mark.parametrize(
    ("language", "title", "button", "label", "signup"),
    [
        ("ru", "Войти", "Войти", "Логин", "Открыть магазин"),
        ("zh-hans", "登录", "登录", "用户名", "开店"),
    ],
)
def test_login_page_follows_the_language_cookie(client: Client, language, title, button, label, signup):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = _page(client.get(LOGIN))
    assert f'<html lang="{language}">' in html
    assert f"<title>{title}</title>" in html
    assert f"{button}</button>" in html
    assert label in html  # a form label (gettext_lazy in Python), not only template text
    assert signup in html
    assert "Log in" not in html


@pytest.mark.parametrize(
    ("accept", "language", "text"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.5", "ru", "Впервые здесь?"),
        ("zh-Hans", "zh-hans", "新商家？"),
        ("zh-CN,zh;q=0.9", "zh-hans", "新商家？"),
        ("de-DE,de;q=0.9", "en", "New seller?"),
    ],
)
def test_login_page_follows_accept_language(client: Client, accept, language, text):
    html = _page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE=accept))
    assert f'<html lang="{language}">' in html
    assert text in html


def test_cookie_wins_over_accept_language(client: Client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = _page(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="ru"))
    assert '<html lang="zh-hans">' in html
    assert "登录</button>" in html


def test_switcher_offers_each_language_under_its_own_name(client: Client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    html = _page(client.get(LOGIN))
    assert 'id="language-form"' in html
    for code, name in (("en", "English"), ("zh-hans", "简体中文"), ("ru", "Русский")):
        assert re.search(rf'<option value="{code}" ?(selected)?>{name}</option>', html), code


@pytest.mark.django_db
def test_language_switcher_switches_a_shop_page():
    shop = make_shop()
    client = web_client_for(shop.owner)
    url = f"/shops/{shop.pk}/staff/"

    html = _page(client.get(url))
    assert '<html lang="en">' in html
    assert "Add staff member" in html

    response = client.post("/i18n/setlang/", {"language": "ru", "next": url})
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"

    html = _page(client.get(url))
    assert '<html lang="ru">' in html
    assert "<title>Сотрудники</title>" in html
    assert "Добавить сотрудника" in html
    assert re.search(r"Постоянные места: \d+ из \d+", html)
    assert "Журнал аудита" in html  # the sidebar, from base.html
    assert "Add staff member" not in html
    assert re.search(r'<option value="ru" ?selected>Русский</option>', html)

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": url})
    html = _page(client.get(url))
    assert '<html lang="zh-hans">' in html
    assert "添加子账号" in html
    assert "审计日志" in html

    client.post("/i18n/setlang/", {"language": "en", "next": url})
    assert "Add staff member" in _page(client.get(url))


# ---------------------------------------------------------------------------------------------
# Catalogs


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> str:
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: every non-obsolete entry, the header (msgid "") included."""
    entries: list[Entry] = []
    entry: Entry | None = None
    flags: set[str] = set()
    target: tuple[str, int | None] | None = None

    def start(lineno: int) -> Entry:
        nonlocal entry, flags
        entry = Entry(flags=flags, line=lineno)
        flags = set()
        entries.append(entry)
        return entry

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            target = None
            continue
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")', line)
        if match:
            keyword, index, text = match.group(1), match.group(2), ast.literal_eval(match.group(3))
            if keyword == "msgctxt" or (keyword == "msgid" and (entry is None or entry.msgstr)):
                start(lineno)
            assert entry is not None, f"{path}:{lineno}: {keyword} outside an entry"
            if keyword.startswith("msgstr"):
                target = ("msgstr", int(index) if index is not None else 0)
                entry.msgstr[target[1]] = text
            else:
                target = (keyword, None)
                setattr(entry, keyword, text)
        elif line.startswith('"') and target is not None and entry is not None:
            text = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, getattr(entry, name) + text)
        else:
            raise AssertionError(f"{path}:{lineno}: cannot read {raw!r}")
    return entries


# %(name)s, %(n)d, %s, %5.2f ... but not a literal %%.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(0) != "%%")


def catalog(language: str) -> tuple[Path, Path]:
    folder = LOCALE_DIR / to_locale(language) / "LC_MESSAGES"
    return folder / "django.po", folder / "django.mo"


def test_every_language_has_a_catalog():
    assert TRANSLATED == ["zh-hans", "ru"]
    for language in TRANSLATED:
        po, mo = catalog(language)
        assert po.is_file(), po
        assert mo.is_file(), f"{mo} missing: run scripts/i18n.sh"


@pytest.mark.parametrize("language", TRANSLATED)
def test_po_header(language):
    po, _mo = catalog(language)
    header = parse_po(po)[0]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    meta = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert meta["Language"] == to_locale(language)
    assert meta["Content-Type"] == "text/plain; charset=UTF-8"
    nplurals = re.search(r"nplurals=(\d+);", meta["Plural-Forms"])
    assert nplurals and int(nplurals.group(1)) == NPLURALS[language], meta["Plural-Forms"]


@pytest.mark.parametrize("language", TRANSLATED)
def test_po_is_complete_and_keeps_placeholders(language):
    po, _mo = catalog(language)
    entries = parse_po(po)[1:]
    assert len(entries) > 100, "the catalog looks empty: run scripts/i18n.sh"
    problems = []
    for e in entries:
        where = f"{po.name}:{e.line} {e.msgid!r}"
        if "fuzzy" in e.flags:
            problems.append(f"{where}: fuzzy")
        if e.msgid_plural is None:
            if not e.msgstr.get(0):
                problems.append(f"{where}: untranslated")
            elif placeholders(e.msgid) != placeholders(e.msgstr[0]):
                problems.append(f"{where}: placeholders {placeholders(e.msgid)} != {placeholders(e.msgstr[0])}")
            continue
        if sorted(e.msgstr) != list(range(NPLURALS[language])):
            problems.append(f"{where}: plural forms {sorted(e.msgstr)}, want {NPLURALS[language]}")
        allowed = set(placeholders(e.msgid)) | set(placeholders(e.msgid_plural))
        used: set[str] = set()
        for index, text in e.msgstr.items():
            if not text:
                problems.append(f"{where}: msgstr[{index}] untranslated")
            used |= set(placeholders(text))
            if not set(placeholders(text)) <= allowed:
                problems.append(f"{where}: msgstr[{index}] has unknown placeholders {placeholders(text)}")
        # A form may leave the number out ("один товар"), but the catalog as a whole must use every one.
        if used != allowed:
            problems.append(f"{where}: plural forms use {sorted(used)}, msgid has {sorted(allowed)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_mo_is_compiled_from_the_current_po(language):
    """Same messages and texts in the committed .mo as in the .po (git keeps no mtimes, so compare contents)."""
    po, mo = catalog(language)
    expected: dict = {}
    for e in parse_po(po)[1:]:
        if "fuzzy" in e.flags:
            continue
        if e.msgid_plural is None:
            if e.msgstr.get(0):
                expected[e.key] = e.msgstr[0]
        elif all(e.msgstr.values()):
            for index, text in e.msgstr.items():
                expected[(e.key, index)] = text
    with mo.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}
    stale = sorted(str(k) for k in expected.keys() - actual.keys())
    extra = sorted(str(k) for k in actual.keys() - expected.keys())
    changed = sorted(str(k) for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    assert not (stale or extra or changed), f"{mo} is stale, run scripts/i18n.sh: {stale=} {extra=} {changed=}"
    assert compiled.info().get("language") == to_locale(language)
