"""Small stand-ins for Debian's word lists (/usr/share/dict), for the words-lang tests.

Each language's pseudo-words are built from a few letter groups typical of it ("sch" and "ß"
for German, "ão" and "ç" for Portuguese...), so a text CNN can tell them apart in one epoch.
Every list also holds words the loader must drop or merge: one shared by all lists ("taxi"),
a capitalized duplicate, an English possessive and a hyphenated word.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convlens.data.words_lang import LANGUAGES

GROUPS = {
    "english": ["th", "wh", "ing", "ly", "sh", "ea", "ght"],
    "french": ["eau", "oux", "é", "que", "ais", "ç", "ière"],
    "german": ["sch", "ß", "ung", "ei", "ch", "ü", "tz"],
    "spanish": ["ñ", "ción", "os", "ll", "ado", "í", "rr"],
    "italian": ["zz", "etto", "gli", "cc", "ini", "ò", "ghi"],
    "portuguese": ["ão", "ç", "nh", "lh", "ões", "õ", "ê"],
    "dutch": ["ij", "oo", "aa", "sch", "kj", "uu", "ee"],
}
EXTRA = ["taxi", "Taxi", "cat's", "half-way"]  # shared, a case duplicate, dropped, dropped


def write_word_lists(folder: Path, per_language: int = 60, seed: int = 0) -> Path:
    """Write one list per language (Debian's file names) into ``folder``; returns ``folder``.

    Each holds at least ``per_language`` distinct usable words besides :data:`EXTRA`.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for language, filename, _ in LANGUAGES:
        groups = GROUPS[language]
        words: set[str] = set()
        while len(words) < per_language:
            parts = rng.choice(groups, size=int(rng.integers(2, 5)))
            words.add("".join(str(p) + "aeiou"[int(rng.integers(5))] for p in parts))
        lines = sorted(words) + EXTRA + [sorted(words)[0].capitalize()]
        (folder / filename).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
