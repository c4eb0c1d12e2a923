"""Korean catalogs with a translator's fragment merged in, for tests of pages whose strings are still in
locale/ko/LC_MESSAGES/fragments/<name>.po (the lead merges fragments into django.po / djangojs.po later).

`korean_catalog_with(settings, tmp_path, "h13")` compiles django.po + the fragment's entries (and djangojs.po +
those marked `# djangojs`) into a temporary locale directory and points LOCALE_PATHS at it; once the fragment has
been merged and deleted it does nothing, and the committed catalogs are tested as they are.
"""

import shutil
import subprocess
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[1] / "locale"
MESSAGES = LOCALE / "ko" / "LC_MESSAGES"


def _blocks(text: str) -> tuple[str, list[str], list[str]]:
    """(header, django entries, djangojs entries) of a fragment: entries are blank-line separated."""
    header, *entries = text.strip().split("\n\n")
    django = [entry for entry in entries if not entry.startswith("# djangojs")]
    js = [entry.split("\n", 1)[1] for entry in entries if entry.startswith("# djangojs")]
    return header, django, js


def _compile(domain: str, header: str, entries: list[str], target: Path) -> None:
    fragment = target / f"{domain}-fragment.po"
    fragment.write_text(header + "\n\n" + "\n\n".join(entries) + "\n", "utf-8")
    merged = target / f"{domain}.po"
    # --use-first: the committed catalog wins where both translate a string
    subprocess.run(
        ["msgcat", "--use-first", "-o", str(merged), str(MESSAGES / f"{domain}.po"), str(fragment)], check=True
    )
    subprocess.run(["msgfmt", "-o", str(target / f"{domain}.mo"), str(merged)], check=True)  # noqa: S603, S607


def korean_catalog_with(settings, tmp_path: Path, name: str) -> None:
    source = MESSAGES / "fragments" / f"{name}.po"
    if not source.exists() or not shutil.which("msgfmt"):
        return
    header, django, js = _blocks(source.read_text("utf-8"))
    target = tmp_path / "locale" / "ko" / "LC_MESSAGES"
    target.mkdir(parents=True)
    _compile("django", header, django, target)
    _compile("djangojs", header, js, target)
    settings.LOCALE_PATHS = [tmp_path / "locale"]  # setting_changed resets Django's translation cache
