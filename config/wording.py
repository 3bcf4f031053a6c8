"""Small rules of how labels read in sentences, shared by pages and the messages that quote them."""

from __future__ import annotations


def mid_sentence(label: object) -> str:
    """A label as it reads inside a sentence: "by e-mail", "a new e-mail"; a word written in capitals
    stays so ("by SMS")."""
    text = str(label)
    word = text.split(" ", 1)[0]
    return text if not text or word.isupper() else text[0].lower() + text[1:]
