"""Shared images as statements about their speaker, for the relation views.

A turn may carry an image as ``[shared an image: a photo of a cake with white frosting]`` (LoCoMo's
captions, :func:`outcrop.core.formats.locomo_message`). Facts leave the caption out (it describes
the picture, not what was said), so before this the views never saw what people showed: Melanie's
sunset painting, Joanna's cakes, Nate's new dog. :func:`caption_statements` turns each such turn
into one statement the relation rules read beside the facts (never stored as a fact):

- "Joanna shared a photo of a cake with white frosting." (the ``shared`` relation: every picture
  a participant showed, its object by the caption);
- the turn's sentences that point at the picture with the picture named in their place: "they
  made this!" → "they made a cup with a dog face!", "Here's a pic of a cake I made" stays as it
  is (the rules read "a cake Joanna made"), so ``made``, ``bought`` and ``owns`` read the object.

The statement's id is its turn's and its only source is that turn, so a view line drawn from it
cites the turn, and deleting or forgetting the turn removes the line at the next rebuild. A
statement is kept out of a view's ``facts`` (it is no stored fact).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from outcrop.core.text import split_sentences
from outcrop.core.types import Item, Level
from outcrop.strata.coref import pet_kind
from outcrop.strata.facts import resolve_persons

__all__ = ["caption_of", "caption_statements", "is_statement", "pictured"]

_IMAGE = re.compile(r"\s*\[shared an image: (.*?)\]\s*$")
# "a photo of", "a close up of a photo of", "a photography of": the framing, not the object
_FRAME = re.compile(
    r"^(?:(?:a|an|the)\s+)?(?:close[\s-]*up|black\s+and\s+white|blurry|cropped)?\s*(?:photo|photograph|photography|"
    r"picture|pic|image|snapshot|screenshot|drawing|painting\s+of\s+a\s+photo)s?\s+of\s+",
    re.I,
)
_LEAD = re.compile(r"^(?:(?:a|an)\s+)?close[\s-]*up\s+of\s+", re.I)
# a verb followed by a demonstrative that stands for the picture: "made this!", "bought these"
_POINTED = re.compile(
    r"\b(?P<v>made|make|baked|cooked|painted|drew|built|knitted|crafted|created|designed|finished|completed|"
    r"bought|got|adopted|found|wrote|sewed|carved|whipped\s+up|put\s+together)\s+(?P<d>this|these|that|those|it|them)"
    r"(?=\s*(?:[.!?,;:)]|-|$|\s+(?:for|with|yesterday|today|last|recently|together|at|in|on)\b))",
    re.I,
)


_INTRODUCED = re.compile(
    r"\b(?:this is|these are|meet|say hi to|named|called|his name is|her name is)\s+([A-Z][a-z]+)\b"
)


def _pet(shown: str) -> str | None:
    """The pet kind a picture shows first ("a dog laying on a couch" → "dog"), if any."""
    for word in re.findall(r"[a-z]+", shown.lower())[:4]:
        kind = pet_kind(word)
        if kind is not None and kind != "pet":
            return kind
    return None


def caption_of(text: str) -> tuple[str, str] | None:
    """``(text without the caption, caption)`` for a turn that shares an image, else None."""
    m = _IMAGE.search(text)
    if m is None or not m.group(1).strip():
        return None
    return text[: m.start()].rstrip(), m.group(1).strip()


def pictured(caption: str) -> str:
    """What a caption shows, without its framing: "a photo of a cake with white frosting" →
    "a cake with white frosting"."""
    shown = _FRAME.sub("", _LEAD.sub("", caption.strip()))
    shown = re.sub(r"\s+", " ", shown).strip(" .")
    return shown or caption.strip()


def _escaped(text: str) -> str:
    """``text`` safe as a regex replacement (backslashes doubled)."""
    return text.replace("\\", "\\\\")


def is_statement(item: Item) -> bool:
    """Whether ``item`` is a caption statement (its id is its turn's), not a stored fact."""
    return item.id in item.sources


def caption_statements(turns: Iterable[Item], participants: Sequence[str]) -> list[Item]:
    """One statement per turn that shares an image (see the module docstring), in turn order."""
    people = [p for p in dict.fromkeys(participants) if p]
    out: list[Item] = []
    for turn in turns:
        if turn.level != Level.TURN or not turn.speaker:
            continue
        found = caption_of(turn.text)
        if found is None:
            continue
        said, caption = found
        shown = pictured(caption)
        others = [p for p in people if p != turn.speaker]
        listener = others[0] if len(others) == 1 else None
        parts = [f"{turn.speaker} shared a photo of {shown}."]
        kind = _pet(shown)
        named = _INTRODUCED.search(said) if kind else None
        if kind and named:  # "this is Max!" beside a photo of a dog: the speaker's dog Max
            parts.append(f"{turn.speaker} has a {kind} named {named.group(1)}.")
        for sentence in split_sentences(said):
            pointed = _POINTED.sub(rf"\g<v> {_escaped(shown)}", sentence)
            if pointed != sentence:
                parts.append(resolve_persons(pointed, turn.speaker, listener))
        out.append(
            Item(
                id=turn.id,
                level=Level.FACT,
                scope=turn.scope,
                text=" ".join(parts),
                speaker=turn.speaker,
                timestamp=turn.timestamp,
                metadata={"kind": "image", "shown": shown},
                sources=[turn.id],
            )
        )
    return out
