"""Korean first (docs/architecture.md §14): the language a page renders in, the switcher, the JavaScript catalog,
the glossary,
the money filters and the catalog check of `make lint`."""

import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template import Context, Template

from stocking.templatetags.money import signed_pct, signed_won, won

ROOT = Path(__file__).resolve().parent.parent
LC_MESSAGES = ROOT / "locale" / "ko" / "LC_MESSAGES"
sys.path.insert(0, str(ROOT / "scripts"))
import check_translations  # noqa: E402

pytestmark = pytest.mark.django_db


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1)


# --- which language a page renders in ------------------------------------------------------------


def test_pages_render_in_korean_by_default(client):
    response = client.get("/market/")
    html = response.content.decode()
    assert lang_of(response) == "ko"
    assert ">시세</a>" in html  # the navigation
    assert "종목명 또는 코드 검색" in html
    assert ">Market</a>" not in html
    assert response["Content-Language"] == "ko"


def test_the_language_cookie_selects_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/market/")
    assert lang_of(response) == "en"
    assert ">Market</a>" in response.content.decode()


def test_accept_language_english_is_respected(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert lang_of(response) == "en"
    assert "Open a paper account" in response.content.decode()


@pytest.mark.parametrize("accept", ["fr-FR,fr;q=0.9", "xx", "zz-ZZ", "*"])
def test_an_unknown_language_falls_back_to_korean(client, accept):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=accept)
    assert lang_of(response) == "ko"
    assert "모의투자 계좌 만들기" in response.content.decode()


def test_an_unknown_language_cookie_falls_back_to_korean(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert lang_of(client.get("/")) == "ko"


def test_the_switcher_posts_to_set_language_and_keeps_the_page(client):
    html = client.get("/market/", {"q": "005930"}).content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert 'name="language" value="ko"' in html
    assert 'name="language" value="en"' in html
    assert 'name="next" value="/market/?q=005930"' in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/market/?q=1"})
    assert response.status_code == 302
    assert response["Location"] == "/market/?q=1"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert lang_of(client.get("/market/")) == "en"


def test_logged_in_pages_render_in_korean(client, user):
    client.force_login(user)
    for path, korean in [("/portfolio/", "보유종목"), ("/portfolio/ledger/", "거래내역"), ("/watchlists/", "관심종목")]:
        response = client.get(path)
        assert lang_of(response) == "ko", path
        assert korean in response.content.decode(), path


# --- the JavaScript catalog, under the Content-Security-Policy --------------------------------------


def test_the_javascript_catalog_is_a_script_file_with_the_korean_strings(client):
    response = client.get("/jsi18n/")
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    korean = json.dumps("다시 연결 중…")  # "Reconnecting…" from live-prices.js, as the catalog escapes it
    assert korean in response.content.decode()
    assert korean not in client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_base_loads_the_catalog_before_the_app_scripts_without_inline_script(client):
    html = client.get("/market/").content.decode()
    catalog = html.index('<script src="/jsi18n/" defer></script>')
    assert catalog < html.index("js/app.js")
    assert catalog < html.index("js/live-prices.js")
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None  # no inline script: CSP script-src 'self'
    script_src = client.get("/market/")["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src


# --- the glossary ------------------------------------------------------------------------------------


def glossary() -> dict[str, str]:
    terms = {}
    for line in (ROOT / "locale" / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, korean = line.split("\t")
            terms[english] = korean
    return terms


def catalogs() -> list[Path]:
    return sorted(LC_MESSAGES.glob("*.po")) + sorted((LC_MESSAGES / "fragments").glob("*.po"))


def test_the_glossary_is_a_two_column_table_with_the_broker_vocabulary():
    terms = glossary()
    for english, korean in {"Buy": "매수", "Sell": "매도", "Cash": "예수금", "Holdings": "보유종목"}.items():
        assert terms[english] == korean
    assert "출금가능금액 (D+2)" in terms.values()


def test_every_glossary_label_used_as_a_msgid_has_the_glossary_translation():
    terms = glossary()
    used = 0
    for path in catalogs():
        for entry in polib.pofile(str(path)):
            if entry.msgctxt or entry.msgid not in terms or not entry.msgstr:
                continue  # a context is another meaning; an empty msgstr is the catalog check's to report
            used += 1
            assert entry.msgstr == terms[entry.msgid], f"{path.name}: {entry.msgid!r}"
    assert used >= 10  # the pages do use the glossary


# --- money filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.234"), "+1.23%"),
        (Decimal("-1.234"), "-1.23%"),
        (Decimal("-0.004"), "0.00%"),  # was "-0.00%"
        (Decimal("-0.001"), "0.00%"),
        (Decimal("0.004"), "0.00%"),  # not "+0.00%"
        (Decimal(0), "0.00%"),
        (Decimal("-0.0"), "0.00%"),
        ("-0.005", "0.00%"),  # rounds to zero: still no minus
        (30, "+30.00%"),
        (None, "–"),
        ("", "–"),
        ("n/a", "n/a"),
        ("NaN", "NaN"),
    ],
)
def test_signed_pct_has_a_sign_two_decimals_and_never_minus_zero(value, text):
    assert str(signed_pct(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12345678, "12,345,678원"),
        (Decimal("-1200"), "-1,200원"),
        (Decimal("-0.4"), "0원"),  # was "-0원"
        (0, "0원"),
    ],
)
def test_won_keeps_the_unit_on_the_number_line(value, text):
    assert str(won(value)) == f'<span class="won">{text}</span>'


def test_won_escapes_what_it_cannot_read_and_dashes_nothing():
    assert str(won("<b>x</b>")) == "&lt;b&gt;x&lt;/b&gt;"
    assert won(None) == "–"


def test_signed_won_marks_gains_with_a_plus():
    assert str(signed_won(1200)) == '<span class="won">+1,200원</span>'
    assert str(signed_won(-300)) == '<span class="won">-300원</span>'
    assert str(signed_won(0)) == '<span class="won">0원</span>'


def test_the_filters_render_in_a_template():
    html = Template("{% load money %}{{ a|won }} ({{ p|signed_pct }})").render(
        Context({"a": Decimal("-1000"), "p": Decimal("-0.001")})
    )
    assert html == '<span class="won">-1,000원</span> (0.00%)'


# --- the catalog check of `make lint` ------------------------------------------------------------------


def write_po(path: Path, entries: list[polib.POEntry]) -> Path:
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "ko"}
    for entry in entries:
        po.append(entry)
    po.save(str(path))
    return path


def test_the_check_reports_untranslated_and_fuzzy_entries(tmp_path):
    path = write_po(
        tmp_path / "django.po",
        [
            polib.POEntry(msgid="Buy", msgstr="매수", occurrences=[("a.html", "1")]),
            polib.POEntry(msgid="Sell", msgstr="", occurrences=[("a.html", "2")]),
            polib.POEntry(msgid="Cash", msgstr="현금", flags=["fuzzy"], occurrences=[("a.html", "3")]),
        ],
    )
    found = check_translations.problems(path)
    assert found == ["untranslated: 'Sell' (a.html)", "fuzzy: 'Cash' (a.html)"]


def test_the_check_compares_the_compiled_catalog(tmp_path):
    po_path = write_po(tmp_path / "django.po", [polib.POEntry(msgid="Buy", msgstr="매수")])
    mo_path = tmp_path / "django.mo"
    assert not check_translations.compiled_matches(po_path, mo_path)
    polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
    assert check_translations.compiled_matches(po_path, mo_path)
    write_po(po_path, [polib.POEntry(msgid="Buy", msgstr="사자")])
    assert not check_translations.compiled_matches(po_path, mo_path)


def test_the_committed_korean_catalogs_are_compiled():
    for domain in check_translations.DOMAINS:
        assert check_translations.compiled_matches(LC_MESSAGES / f"{domain}.po", LC_MESSAGES / f"{domain}.mo")
