"""Browser helper for Korean-first pages (docs/architecture.md §14): fail when a page rendered in Korean shows
English words.

`assert_no_untranslated(page)` walks the text the user can see (visible text nodes, and the placeholders of visible
inputs) and collects every Latin word of three or more letters that is not on the allow-list below. Words that are
allowed everywhere:

- names and market terms that stay in Latin letters on Korean brokers' screens: StocKing, KOSPI, KOSDAQ, KRX, the
  time-in-force codes GTC, IOC, FOK, API / REST / JWT / CSV, and TWR / MDD beside their Korean names;
- stock codes such as A005930 or A0009K0 (with or without the A) and e-mail addresses.

Text that is data rather than interface is skipped where the page marks it with HTML's own `translate="no"`
attribute (the signed-in username, the "English" button of the language switcher, stock names that have no Korean
name, which the stock tables mark this way, ledger memos an administrator typed, plan names from the product
catalogue). A test can allow more words for one page with `allow=` (for example the username it signed up with,
or an English stock name it created).
"""

import re
from collections.abc import Iterable

from playwright.sync_api import Page

# TWR and MDD stand beside their Korean names (수익률 (TWR), 최대낙폭 (MDD)), as Korean brokers' apps print them
ALLOWED_WORDS = frozenset(
    {"StocKing", "KOSPI", "KOSDAQ", "KRX", "GTC", "IOC", "FOK", "API", "REST", "JWT", "CSV", "TWR", "MDD"}
)

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# marketdata/codes.py's codes (A + six digits or capitals, as KRX's newer codes such as 0009K0 have) and the six
# characters pages show without the A
STOCK_CODE = re.compile(r"\bA[0-9A-Z]{6}\b|\b(?=[0-9A-Z]*[0-9])[0-9A-Z]{6}\b")

# Visible text nodes and visible placeholders, each with a short description of where it is.
_VISIBLE_TEXT_JS = """
() => {
  const out = [];
  const skipTags = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "svg", "SVG"]);
  const visible = (el) => {
    if (!el || el.closest('[translate="no"]')) return false;
    if (typeof el.checkVisibility === "function" && !el.checkVisibility({visibilityProperty: true})) return false;
    const rects = el.getClientRects();
    return rects.length > 0 && Array.from(rects).some((r) => r.width > 0 && r.height > 0);
  };
  const where = (el) => {
    const id = el.id ? "#" + el.id : "";
    const testid = el.closest("[data-testid]");
    return el.tagName.toLowerCase() + id + (testid ? ` in [data-testid=${testid.dataset.testid}]` : "");
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !parent || skipTags.has(parent.tagName) || !visible(parent)) continue;
    out.push([text, where(parent)]);
  }
  for (const input of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (input.placeholder.trim() && visible(input)) out.push([input.placeholder.trim(), where(input) + " placeholder"]);
  }
  return out;
}
"""


def untranslated_words(page: Page, allow: Iterable[str] = ()) -> list[str]:
    """Each visible English word not on the allow-list, as 'word: "text" (where)'."""
    extra = list(allow)
    allowed = ALLOWED_WORDS | set(extra)
    found = []
    for text, where in page.evaluate(_VISIBLE_TEXT_JS):
        cleaned = STOCK_CODE.sub(" ", EMAIL.sub(" ", text))
        for word in LATIN_WORD.findall(cleaned):
            # an allowed name such as "walker1280" shows as its letters ("walker") inside a sentence
            if word not in allowed and not any(word in name for name in extra):
                found.append(f'{word}: "{text[:80]}" ({where})')
    return found


def assert_no_untranslated(page: Page, allow: Iterable[str] = ()) -> None:
    """Fail, listing them, if the page (rendered in Korean) shows English words outside the allow-list."""
    found = untranslated_words(page, allow)
    assert not found, f"{page.url} shows untranslated English:\n" + "\n".join(found)
