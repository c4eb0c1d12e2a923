"""`make lint`: the Korean catalogs are in step with the code and complete (docs/architecture.md §14, issue 14).

Runs `makemessages -l ko` for both domains (django, djangojs) in a temporary copy of the project, so the committed
.po files are never touched, and fails when the refreshed catalog has an untranslated or fuzzy entry: a new string
in the code that nobody translated, or a translation that makemessages had to guess after its msgid changed.
It also fails when a committed .mo does not hold its .po's translations (run `manage.py compilemessages -l ko`).

Usage: .venv/bin/python scripts/check_translations.py
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = "ko"
DOMAINS = ("django", "djangojs")
# the same folders as the documented makemessages command, plus vendored scripts
IGNORE = [".venv", "staticfiles", "bench", "tests", "static/vendor", "node_modules", "test-artifacts", ".demo"]
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "staticfiles", "bench", "tests", "node_modules", "test-artifacts", ".demo", "__pycache__",
    "*.sqlite3*", "celerybeat-schedule*", "*.mo",
)  # fmt: skip


def problems(po_path: Path) -> list[str]:
    catalog = polib.pofile(str(po_path))
    found = []
    for entry in catalog:
        if entry.obsolete:
            continue
        where = entry.occurrences[0][0] if entry.occurrences else "?"
        label = f"{entry.msgctxt} | {entry.msgid}" if entry.msgctxt else entry.msgid
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {label!r} ({where})")
        elif not entry.translated():
            found.append(f"untranslated: {label!r} ({where})")
    return found


def _translations(catalog) -> dict:
    texts = {}
    for entry in catalog:
        text = entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr
        if entry.msgid and text and not entry.obsolete and "fuzzy" not in entry.flags:
            texts[(entry.msgctxt, entry.msgid)] = text
    return texts


def compiled_matches(po_path: Path, mo_path: Path) -> bool:
    """The committed .mo holds exactly the .po's translations (`make demo` runs without gettext)."""
    if not mo_path.exists():
        return False
    return _translations(polib.pofile(str(po_path))) == _translations(polib.mofile(str(mo_path)))


def refreshed_catalogs(workdir: Path) -> Path:
    copy = workdir / "project"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE, symlinks=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "stocking.settings.development"}
    for domain in DOMAINS:
        command = [sys.executable, "manage.py", "makemessages", "-l", LANGUAGE, "-d", domain, "--no-obsolete"]
        command += [f"--ignore={pattern}" for pattern in IGNORE]
        subprocess.run(command, cwd=copy, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return copy / "locale" / LANGUAGE / "LC_MESSAGES"


def main() -> int:
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        print("check_translations: GNU gettext is missing (apt-get install gettext)", file=sys.stderr)
        return 2
    failures = []
    committed = ROOT / "locale" / LANGUAGE / "LC_MESSAGES"
    with tempfile.TemporaryDirectory(prefix="stocking-i18n-") as workdir:
        refreshed = refreshed_catalogs(Path(workdir))
        for domain in DOMAINS:
            failures += [f"{domain}.po {problem}" for problem in problems(refreshed / f"{domain}.po")]
    for domain in DOMAINS:
        if not compiled_matches(committed / f"{domain}.po", committed / f"{domain}.mo"):
            failures.append(f"{domain}.mo is missing or not compiled from {domain}.po: run compilemessages -l ko")
    if failures:
        print(f"check_translations: {len(failures)} problem(s) in the {LANGUAGE} catalogs:", file=sys.stderr)
        print("\n".join(f"  {failure}" for failure in failures), file=sys.stderr)
        return 1
    print(f"check_translations: {LANGUAGE} catalogs complete ({', '.join(DOMAINS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
