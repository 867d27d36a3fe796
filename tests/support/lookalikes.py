"""Spellings of a text a person cannot tell from it (identity keys must see through them)."""

from __future__ import annotations


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def lookalikes(text: str) -> dict[str, str]:
    """Spellings of ``text`` a person cannot tell from it (``text`` must hold T/X/E/O/N)."""
    cyrillic = str.maketrans(
        "TXEOHAKMPC", "\u0422\u0425\u0415\u041e\u041d\u0410\u041a\u041c\u0420\u0421"
    )
    greek = str.maketrans(
        "TXEONAKMPZ", "\u03a4\u03a7\u0395\u039f\u039d\u0391\u039a\u039c\u03a1\u0396"
    )
    return {
        "fullwidth": _fullwidth(text),
        "cyrillic": text.translate(cyrillic),
        "greek": text.translate(greek),
        "zero-width space": text[:2] + "\u200b" + text[2:],
        "soft hyphen": text[:3] + "\u00ad" + text[3:],
        "word joiner + BOM": "\ufeff" + text[:1] + "\u2060" + text[1:],
        "variation selector": text[:2] + "\ufe0f" + text[2:],
        "mixed": _fullwidth(text[:2]).translate(cyrillic) + "\u200b" + text[2:],
    }
