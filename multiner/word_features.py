"""Word features beside the encoder's states, for the packaged encoder is uncased: each word's casing class (the
one-hot casing vector of seeds/003, read by Multi-NER and joint ER with `casing_features`) and its character ids
(the character-level word embedding of seeds/003, `char_features`: joint ER per word, Multi-NER per token). The
processors write them; the models read them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .text_core import Context, Window

# The one-hot casing vector of seeds/003 (the word shapes of Reimers & Gurevych's BiLSTM-CRF, a word with any digit
# tested before its letters): the packaged encoder is uncased, so this is how capital letters reach a model. Class 0
# pads.
CASING_CLASSES = ("padding", "numeric", "mainly_numeric", "lower", "upper", "initial_upper", "contains_digit", "other")


def casing_class(word: str) -> int:
    """The casing class (index into `CASING_CLASSES`) of one word.

    Example:
        >>> [CASING_CLASSES[casing_class(word)] for word in ("1984", "3-1", "the", "NASA", "Paris", "MP3", "iPhone")]
        ['numeric', 'mainly_numeric', 'lower', 'upper', 'initial_upper', 'contains_digit', 'other']
    """
    digits = sum(character.isdigit() for character in word)
    if word and digits == len(word):
        return 1
    if word and digits / len(word) > 0.5:
        return 2
    if digits:
        return 6
    if word.islower():
        return 3
    if word.isupper():
        return 4
    if word[:1].isupper() and word[1:].islower():
        return 5
    return 7


def token_casing(context: Context, start: int = 0, stop: int | None = None) -> list[int]:
    """The casing class of the word each token of `context` (or of its tokens `start`..`stop`, a window) belongs to:
    of its whole word, so `McDonald` is mixed in each of its sub-tokens, also where a window cuts the word."""
    return per_token(casing_class, context, start, stop)


def per_token(feature: Callable[[str], Any], context: Context, start: int = 0, stop: int | None = None) -> list:
    """`feature(word)` of the whole word each token of `context` (or of its tokens `start`..`stop`) belongs to."""
    stop = len(context.ids) if stop is None else stop
    values, position = [], start
    while position < stop:
        word, last = word_at(context, position)
        values += [feature(word)] * (min(last + 1, stop) - position)
        position = last + 1
    return values


def word_at(context: Context, position: int) -> tuple[str, int]:
    """The whole word token `position` of `context` belongs to, and the position of its last token."""
    first, last = position, position
    while not context.word_first[first]:
        first -= 1
    while not context.word_last[last]:
        last += 1
    return context.fragment(context.offsets[first][0], context.offsets[last][1]), last


# Characters of the character-level word embedding (seeds/003): ids 1..CHAR_VOCABULARY - 1 (Latin-1 as is, other
# code points folded onto them), 0 pads; a word gives its first MAX_WORD_CHARS characters.
CHAR_VOCABULARY = 256
MAX_WORD_CHARS = 20


def word_chars(word: str) -> list[int]:
    """The character ids of one word (its first `MAX_WORD_CHARS` characters).

    Example:
        >>> word_chars("Hi")
        [73, 106]
    """
    return [1 + ord(character) % (CHAR_VOCABULARY - 1) for character in word[:MAX_WORD_CHARS]]


def window_word_chars(context: Context, window: Window) -> list[list[int]]:
    """The character ids of each word that starts in `window` (window word order), of the whole word: joint ER's
    `char_ids`.

    Example:
        >>> window_word_chars(tokenize_context(tokenizer, "Hi Bo", 0), Window(0, 0, 2, False, False))  # doctest: +SKIP
        [[73, 106], [67, 112]]
    """
    starts = [position for position in range(window.start, window.stop) if context.word_first[position]]
    return [word_chars(word_at(context, position)[0]) for position in starts]


def token_word_chars(context: Context, start: int = 0, stop: int | None = None) -> list[list[int]]:
    """The character ids of the whole word each token of `context` (or of its tokens `start`..`stop`, a window)
    belongs to: Multi-NER's `char_ids`, one row per context token, like `token_casing`."""
    return per_token(word_chars, context, start, stop)


__all__ = [
    "CASING_CLASSES",
    "CHAR_VOCABULARY",
    "MAX_WORD_CHARS",
    "casing_class",
    "per_token",
    "token_casing",
    "token_word_chars",
    "window_word_chars",
    "word_chars",
    "word_at",
]
