"""``words-lang``: which of seven languages a single word is, from its letters alone.

The words come from Debian's word lists, installed with ``apt-get install wamerican wfrench
wngerman wspanish witalian wportuguese wdutch`` into ``/usr/share/dict``:

==========  =====================  ==============
class       file                   apt package
==========  =====================  ==============
english     ``american-english``   ``wamerican``
french      ``french``             ``wfrench``
german      ``ngerman``            ``wngerman``
spanish     ``spanish``            ``wspanish``
italian     ``italian``            ``witalian``
portuguese  ``portuguese``         ``wportuguese``
dutch       ``dutch``              ``wdutch``
==========  =====================  ==============

How the examples are made, so that the task is about spelling and nothing else:

* every word is **lowercased** (German capitalizes its nouns, English its names: case would
  give the language away without reading the letters), and a list's duplicates merge;
* only words made of letters alone are kept (``str.isalpha``): English possessives
  (``"cat's"``), French and Portuguese hyphenated compounds and Italian elisions
  (``"l'acqua"``) are dropped, since the apostrophe or the hyphen alone would tell;
* a word found in more than one list (``"a"``, ``"taxi"``, ``"piano"``) is dropped from all:
  it has no single answer;
* from each language's remaining words (sorted, so the file order does not matter),
  ``train_per_language + test_per_language`` are drawn without replacement with ``seed``
  (3,000 + 1,000 by default): a balanced set of 21,000 training and 7,000 test words, chance
  level 1/7 = 14.3 %; both sets are shuffled so any prefix mixes the languages;
* each word becomes ``length`` character ids (24 by default: longer words, under 1 % of the
  German and Dutch ones, keep their first 24 letters), padded with id 0; the vocabulary is the
  training words' characters (test-only characters become ``"<unk>"``).

The sample depends on the word lists, so a different Debian release may draw other words;
RESULTS.md names the package versions its numbers come from. ``data_dir`` (``--data-dir``)
is searched for the list files before ``/usr/share/dict``: tests give small lists there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convlens.data.dataset import Dataset
from convlens.data.registry import register_dataset
from convlens.data.text_files import read_utf8, token_dataset
from convlens.data.tokens import tokenize

NAME = "words-lang"
DICT_DIR = Path("/usr/share/dict")
#: (class name, file in /usr/share/dict, Debian package that installs it)
LANGUAGES = (
    ("english", "american-english", "wamerican"),
    ("french", "french", "wfrench"),
    ("german", "ngerman", "wngerman"),
    ("spanish", "spanish", "wspanish"),
    ("italian", "italian", "witalian"),
    ("portuguese", "portuguese", "wportuguese"),
    ("dutch", "dutch", "wdutch"),
)
APT_PACKAGES = tuple(package for _, _, package in LANGUAGES)
TRAIN_PER_LANGUAGE, TEST_PER_LANGUAGE, LENGTH, SEED = 3000, 1000, 24, 0


def find_word_list(filename: str, package: str, data_dir: Path | None = None) -> Path:
    """``data_dir/filename`` if it exists, else ``/usr/share/dict/filename``; a missing list
    raises ``FileNotFoundError`` naming the apt package that installs it."""
    places = ([data_dir] if data_dir is not None else []) + [DICT_DIR]
    for folder in places:
        if (folder / filename).is_file():
            return folder / filename
    where = " or ".join(str(folder / filename) for folder in places)
    raise FileNotFoundError(
        f"{NAME} needs the word list {filename!r}, not found in {where}: install it with "
        f"`apt-get install {package}` (all seven: apt-get install {' '.join(APT_PACKAGES)})"
    )


def read_word_list(path: Path) -> set[str]:
    """The distinct lowercased words of a UTF-8 word list (one per line) made of letters alone."""
    words = {line.strip() for line in read_utf8(path).lower().split("\n")}
    return {word for word in words if word.isalpha()}


def _sample(words: list[str], count: int, rng: np.random.Generator, path: Path) -> list[str]:
    if len(words) < count:
        raise ValueError(
            f"{path}: {len(words)} usable words (lowercase letters only, in no other list), "
            f"fewer than the {count} asked for; lower train_per_language/test_per_language"
        )
    return [words[i] for i in rng.choice(len(words), count, replace=False)]


@register_dataset(
    NAME,
    "language of a single word (7 classes, 21,000 / 7,000) from Debian's word lists, as characters",
)
def load_words_lang(
    data_dir: Path | None = None,
    train_per_language: int = TRAIN_PER_LANGUAGE,
    test_per_language: int = TEST_PER_LANGUAGE,
    length: int = LENGTH,
    seed: int = SEED,
) -> Dataset:
    """Words of seven languages as ``(N, length)`` character ids; see the module docstring.

    Args:
        data_dir: a folder searched for the list files before ``/usr/share/dict``.
        train_per_language: training words drawn per language.
        test_per_language: test words drawn per language.
        length: characters per word (longer words are cut, shorter ones padded).
        seed: seed of the draw and of the order of the examples.
    """
    counts = {"train_per_language": train_per_language, "test_per_language": test_per_language}
    for option, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"expected {option} a positive integer, received {value!r}")
    paths = [find_word_list(filename, package, data_dir) for _, filename, package in LANGUAGES]
    lists = [read_word_list(path) for path in paths]
    seen: set[str] = set()
    shared: set[str] = set()  # words of more than one list
    for words in lists:
        shared |= seen & words
        seen |= words
    rng = np.random.default_rng(seed)
    parts: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    for label, (path, words) in enumerate(zip(paths, lists)):
        unique = sorted(words - shared)  # sorted: the draw must not depend on set order
        drawn = _sample(unique, train_per_language + test_per_language, rng, path)
        for part, chosen in (("train", drawn[:train_per_language]), ("test", drawn[train_per_language:])):
            parts[part][0].extend(chosen)
            parts[part][1].extend([label] * len(chosen))
    shuffled = {}
    for part, (chosen_words, labels) in parts.items():
        order = rng.permutation(len(chosen_words))
        shuffled[part] = (
            [tokenize(chosen_words[i], "chars") for i in order],
            np.asarray(labels, dtype=np.int64)[order],
        )
    folders = sorted({str(path.parent) for path in paths})
    return token_dataset(
        shuffled["train"],
        shuffled["test"],
        tuple(language for language, _, _ in LANGUAGES),
        NAME,
        f"lowercase words of {len(LANGUAGES)} languages from the word lists in {', '.join(folders)} "
        f"(words in several lists dropped), {train_per_language} + {test_per_language} per language "
        f"drawn with seed {seed}, as {length} character ids",
        length,
    )
