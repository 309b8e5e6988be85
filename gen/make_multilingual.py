"""Make ``tests/data/multilingual.jsonl.xz``: real translated text in many languages and scripts (issue 22), taken
from the gettext message catalogs that Debian packages install under ``/usr/share/locale``.

Every text is a translation (a ``msgstr``, every plural form) that the packages' translators wrote; nothing here is
written by this project. Format strings (``%s``, ``{name}``), markup, accelerators (``_File``) and newlines are kept
as they are: they are real text that real programs show.

Dev-only, standard library only. Every catalog installed for the languages below is read, so the same bytes come
out only with the same set of packages at the same versions: the 51 Debian 12 packages (and versions) listed under
"packages" in ``tests/data/multilingual.sources.json`` (among them ``iso-codes``, ``coreutils``, ``libglib2.0-data``,
``libgtk2.0-common``, ``libgdk-pixbuf2.0-common``, ``shared-mime-info``, ``packagekit``, ``libc-l10n``, ``apt``,
``systemd``, ``postgresql-15``, ``git``: ``apt-get install --no-install-recommends`` those missing). The catalogs
list there gives each one's sha256, to find which differ::

    python gen/make_multilingual.py [--out tests/data/multilingual.jsonl.xz] [--seed 22] [--per-language 1500]

Recipe, per language (``LANGUAGES`` below: the locale folder names): every ``.mo`` file in
``/usr/share/locale/<lang>/LC_MESSAGES/`` is read with ``gettext.GNUTranslations`` (which decodes each catalog's own
charset); the header entry is skipped; every non-empty msgstr is taken (plural forms each), with the catalog's name
(its gettext domain); a catalog gettext cannot decode (a header that is not in its declared charset) is left out and
listed as skipped. Texts are deduplicated per language (first occurrence in the order domain name, then msgid),
then ``random.Random(f"{seed}:{lang}").sample`` picks ``--per-language`` of them (all of them if fewer) and they are
written in the sampled order. Output: one JSON object per line, ``{"lang", "domain", "text"}`` (``ensure_ascii=False``,
keys sorted), xz-compressed (preset 9), so the same catalogs give
the same bytes; and ``multilingual.sources.json`` beside it: for each catalog used, its path, sha256, the Debian
package that owns it and that package's version, and for each package its licence names as its
``/usr/share/doc/<pkg>/copyright`` lists them.
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import io
import json
import lzma
import random
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCALE = Path("/usr/share/locale")
DEFAULT_OUT = REPO / "tests" / "data" / "multilingual.jsonl.xz"

# locale folder -> (language, script): Latin with diacritics, Cyrillic, Greek, Arabic script, Hebrew, Indic,
# Thai, CJK, Hangul, Georgian, Armenian, Ethiopic, Khmer, Burmese.
LANGUAGES: dict[str, tuple[str, str]] = {
    "fr": ("French", "Latin"),
    "de": ("German", "Latin"),
    "es": ("Spanish", "Latin"),
    "pl": ("Polish", "Latin"),
    "cs": ("Czech", "Latin"),
    "hu": ("Hungarian", "Latin"),
    "ro": ("Romanian", "Latin"),
    "tr": ("Turkish", "Latin"),
    "vi": ("Vietnamese", "Latin"),
    "ru": ("Russian", "Cyrillic"),
    "uk": ("Ukrainian", "Cyrillic"),
    "bg": ("Bulgarian", "Cyrillic"),
    "sr": ("Serbian", "Cyrillic"),
    "el": ("Greek", "Greek"),
    "ar": ("Arabic", "Arabic"),
    "fa": ("Persian", "Arabic"),
    "ur": ("Urdu", "Arabic"),
    "he": ("Hebrew", "Hebrew"),
    "hi": ("Hindi", "Devanagari"),
    "mr": ("Marathi", "Devanagari"),
    "bn_IN": ("Bengali", "Bengali"),
    "ta": ("Tamil", "Tamil"),
    "te": ("Telugu", "Telugu"),
    "ml": ("Malayalam", "Malayalam"),
    "th": ("Thai", "Thai"),
    "zh_CN": ("Chinese (simplified)", "Han"),
    "zh_TW": ("Chinese (traditional)", "Han"),
    "ja": ("Japanese", "Han, Hiragana, Katakana"),
    "ko": ("Korean", "Hangul"),
    "ka": ("Georgian", "Georgian"),
    "hy": ("Armenian", "Armenian"),
    "am": ("Amharic", "Ethiopic"),
    "km": ("Khmer", "Khmer"),
    "my": ("Burmese", "Myanmar"),
}


def catalog_texts(path: Path) -> list[str]:
    """Every non-empty msgstr of one catalog (plural forms each), ordered by msgid."""
    with path.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    catalog: dict[str | tuple[str, int], str] = translations._catalog  # type: ignore[attr-defined]
    entries: list[tuple[tuple[str, int], str]] = []
    for key, text in catalog.items():
        msgid, form = (key, 0) if isinstance(key, str) else key  # plural forms are keyed (msgid, n)
        if msgid == "" or not text:
            continue  # the header, or an untranslated entry
        entries.append(((msgid, form), text))
    entries.sort(key=lambda e: e[0])
    return [text for _, text in entries]


def owners(paths: list[Path]) -> dict[str, str]:
    """The Debian package that installed each path (one ``dpkg -S`` for all of them)."""
    out = subprocess.run(["dpkg", "-S", *map(str, paths)], capture_output=True, text=True, check=True).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        package, _, path = line.rpartition(": ")  # "name: path" or "name:arch: path"
        found[path] = package
    return found


def version(package: str) -> str:
    """A package's installed version (``dpkg-query``)."""
    return subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True
    ).stdout


def licences(package: str) -> list[str]:
    """The licence names a package's machine-readable copyright file lists (``License:`` fields), in order."""
    name = package.split(":", 1)[0]
    path = Path("/usr/share/doc") / name / "copyright"
    if not path.is_file():
        return []
    names: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.match(r"License:\s*(\S.*)$", line)
        if match and match.group(1).strip() not in names:
            names.append(match.group(1).strip())
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--per-language", type=int, default=1500)
    args = parser.parse_args(argv)

    rows: list[dict[str, str]] = []
    catalogs: list[dict[str, str]] = []
    packages: dict[str, dict[str, object]] = {}
    counts: dict[str, dict[str, int]] = {}
    skipped: list[dict[str, str]] = []
    for lang in LANGUAGES:
        folder = LOCALE / lang / "LC_MESSAGES"
        seen: dict[str, str] = {}
        paths = sorted(folder.glob("*.mo"))
        package_of = owners(paths)
        for path in paths:
            domain = path.stem
            try:
                texts = catalog_texts(path)
            except (UnicodeDecodeError, LookupError, OSError) as exc:  # a catalog gettext cannot read: left out
                skipped.append({"path": str(path), "reason": f"{type(exc).__name__}: {exc}"})
                continue
            package = package_of[str(path)]
            if package not in packages:
                packages[package] = {"version": version(package), "licences": licences(package)}
            catalogs.append(
                {
                    "path": str(path),
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "package": package,
                    "version": str(packages[package]["version"]),
                    "texts": str(len(texts)),
                }
            )
            for text in texts:
                seen.setdefault(text, domain)
        unique = list(seen.items())
        chosen = random.Random(f"{args.seed}:{lang}").sample(unique, min(args.per_language, len(unique)))
        counts[lang] = {"unique": len(unique), "chosen": len(chosen)}
        rows.extend({"lang": lang, "domain": domain, "text": text} for text, domain in chosen)
        print(f"{lang:6} {len(unique):6} unique, {len(chosen):5} chosen", file=sys.stderr)

    body = io.StringIO()
    for row in rows:
        body.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    data = lzma.compress(body.getvalue().encode("utf-8"), preset=9)
    args.out.write_bytes(data)
    sources = {
        "recipe": "gen/make_multilingual.py",
        "seed": args.seed,
        "per_language": args.per_language,
        "languages": {lang: {"name": n, "script": s, **counts[lang]} for lang, (n, s) in LANGUAGES.items()},
        "packages": dict(sorted(packages.items())),
        "catalogs": catalogs,
        "skipped": skipped,
        "output_sha256": hashlib.sha256(data).hexdigest(),
    }
    sources_path = args.out.with_name("multilingual.sources.json")
    sources_path.write_text(json.dumps(sources, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} texts, {len(data):,} bytes -> {args.out}; {sources_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
