"""The text rule of identity keys: when two serials (or manufacturers) name the same machine.

A serial typed with fullwidth digits, a Cyrillic TE (U+0422), a zero-width space or a soft
hyphen looks like the real one and must not register the machine a second time (806 / 808
would be bypassed). So an identity string is compared after

1. Unicode NFKC (fullwidth and other compatibility forms become their plain letters),
2. removing format and other default-ignorable characters (category Cf such as U+200B and
   U+00AD, variation selectors, fillers): invisible, so never part of what a person reads,
3. mapping non-ASCII look-alikes to the Latin letter they imitate, with the Unicode TR39
   confusables table (https://www.unicode.org/reports/tr39/#Confusable_Detection), as
   packaged by ``disarm``,
4. casefolding.

ASCII is never remapped: TR39 would make "0"/"O" and "1"/"l"/"I" one letter, but printed
serials use both and two real machines can differ in exactly that. Plain ASCII text (every
real SMBIOS string we have seen) takes a fast path of one ``isascii`` and ``casefold``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

__all__ = ["fold", "unusual_characters"]

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) that are not category Cf; the Cf
# ones are removed by category. Python's unicodedata has no property for this set.
_IGNORABLE_NOT_CF: Final = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
_NON_ASCII_RUN: Final = re.compile(r"[^\x00-\x7f]+")


def fold(text: str) -> str:
    """The key form of one identity string (serial, manufacturer): stripped, look-alikes
    mapped as the module docstring says, casefolded. Idempotent: ``fold(fold(t)) == fold(t)``."""
    text = text.strip()
    if text.isascii():
        return text.casefold()
    return _fold_unicode(text)


@lru_cache(maxsize=4096)
def _fold_unicode(text: str) -> str:
    # Casefolding and the confusable map can each leave text that NFKC or the map changes
    # again (U+2126 OHM SIGN folds to "ω", which then maps to "w"): repeat to a fixed point.
    # Every round only shortens or Latinises the text, so a few rounds settle it.
    for _ in range(4):
        folded = _round(text)
        if folded == text:
            break
        text = folded
    return text.strip()


def _round(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if c.isascii() or not _is_ignorable(c))
    if not text.isascii():
        text = _NON_ASCII_RUN.sub(lambda m: _latin_lookalikes(m.group()), text)
    return unicodedata.normalize("NFKC", text.casefold())


def _is_ignorable(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or _IGNORABLE_NOT_CF.match(char) is not None


def _latin_lookalikes(run: str) -> str:
    """TR39's visual mapping of a run of non-ASCII characters toward Latin."""
    # Imported here: only non-ASCII text needs the table (about 0.1 s to load).
    from disarm import normalize_confusables

    return normalize_confusables(run, target_script="latin")


def unusual_characters(text: str) -> list[str]:
    """Each distinct non-ASCII character of ``text``, as "U+0422 CYRILLIC CAPITAL LETTER TE",
    with what it is taken for when it imitates an ASCII letter or is invisible."""
    found: list[str] = []
    for char in dict.fromkeys(c for c in text if not c.isascii()):
        name = unicodedata.name(char, "unnamed character")
        description = f"U+{ord(char):04X} {name}"
        if _is_ignorable(char):
            description += " (invisible)"
        else:
            plain = unicodedata.normalize("NFKC", char)
            if not plain.isascii():
                plain = _latin_lookalikes(plain)
            if plain.isascii() and plain.isprintable() and plain.strip():
                description += f" (looks like {plain!r})"
        found.append(description)
    return found
