"""What each index sees of an item: the text stores index and embed, shared by every layer that writes.

* The lexical (BM25) document of a turn has two fields: ``own`` is its speaker, its date and
  its text; ``context`` is the bare text of up to ``window`` turns on each side in the same
  session, scored at a lower weight. Measured on LoCoMo (../shared/RETRIEVAL-NOTES.md):
  neighbours +7.9 recall@10, the session date +3 to 4.
* The dense text is ``speaker: text`` with first-person pronouns kept (the model sees who talks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from outcrop.core.types import Item, Level

__all__ = ["LexicalDocument", "dense_text", "lexical_document", "spoken_date"]


@dataclass(frozen=True)
class LexicalDocument:
    """What BM25 sees of an item, in two fields indexed apart: ``own`` (the item's header and
    text) and ``context`` (neighbouring text). Indexed apart, each field keeps its own document
    frequencies, so topic words that neighbours spread through a small memory keep their IDF."""

    own: str
    context: str = ""


def spoken_date(moment: datetime | None) -> str:
    """A date as people write it: ``8 May 2023``."""
    return f"{moment.day} {moment.strftime('%B %Y')}" if moment else ""


def lexical_document(item: Item, neighbours: list[Item]) -> LexicalDocument:
    header = " ".join(part for part in (item.speaker or "", spoken_date(item.timestamp)) if part)
    own = "\n".join(part for part in (header, item.text) if part)
    return LexicalDocument(own=own, context="\n".join(n.text for n in neighbours if n.id != item.id))


def dense_text(item: Item) -> str:
    """Turns are embedded as ``speaker: text``; derived items carry their names in the text."""
    if item.speaker and item.level == Level.TURN:
        return f"{item.speaker}: {item.text}"
    return item.text
