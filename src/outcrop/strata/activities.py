"""Words that name an activity someone does: the relations' patterns read them ("went camping",
"plays the violin", "is doing kickboxing"), and the fact rules keep a short sentence that names
one ("I'm off to go swimming with the kids" is no small talk)."""

from __future__ import annotations

import re

__all__ = ["HOBBY", "PASTIME", "names_activity"]

# gerunds after a form of "be" that name a pastime (not "is going", "was thinking")
HOBBY = (
    r"running|jogging|swimming|painting|hiking|camping|dancing|singing|cooking|baking|reading|writing|drawing|"
    r"gardening|fishing|surfing|skiing|snowboarding|skating|cycling|biking|climbing|knitting|sewing|crocheting|"
    r"volunteering|kayaking|traveling|travelling|practicing|practising|playing|training|exercising|meditating|"
    r"journaling|sketching|photographing|gaming|skateboarding|boxing|rowing|sailing|bowling|golfing|horseback\s+riding|"
    r"birdwatching|composing|woodworking|pottery|yoga|learning|studying|coaching|teaching|mentoring|performing"
)
# instruments, sports and games one plays or practises
PASTIME = (
    r"(?:guitar|piano|violin|cello|drums|flute|saxophone|ukulele|trumpet|clarinet|harp|bass|keyboard|"
    r"soccer|football|basketball|baseball|tennis|volleyball|hockey|golf|chess|badminton|cricket|rugby|softball|"
    r"karate|judo|taekwondo|kickboxing|boxing|yoga|pilates|ballet|pottery|video\s+games|board\s+games|games)"
)
# "learning", "playing", "practicing" and "games" name no activity on their own
_NAMED = re.compile(
    rf"\b(?:(?!learning\b|playing\b|practicing\b|practising\b)(?:{HOBBY})|(?!games\b){PASTIME})\b", re.IGNORECASE
)


def names_activity(sentence: str) -> bool:
    """Whether ``sentence`` names an activity (a pastime, a sport, an instrument)."""
    return _NAMED.search(sentence) is not None
