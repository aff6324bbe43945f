"""Screen text for instructions aimed at an agent, before it is stored as memory.

Stored memory is data: a context block quotes it to a model, which must not take it for orders.
Text that reads as an instruction to the model (memory poisoning: "ignore previous instructions",
a fake ``system:`` turn, "send the API key to https://…", text hidden from a human reader) is
flagged when it is written; nothing is dropped or changed. Each rule is a small pure check with
the name it flags under:

* ``override``: attempts to replace the agent's instructions (ignore/disregard the previous
  instructions, new instructions:, developer mode, do not tell the user);
* ``role_marker``: chat-template or role markers that fake another speaker (a line starting
  ``system:``, ``<|im_start|>``, ``[INST]``, ``<<SYS>>``, ``</system>``);
* ``directive``: text addressed to the model itself (a note to the AI, "when you read this",
  "reveal your system prompt");
* ``exfiltration``: sending secrets (keys, passwords, the conversation) to an address, or a
  markdown image whose URL carries data;
* ``tampering``: changing the agent's tools, keys, endpoints or payees, or running a command;
* ``hidden_text``: characters or markup a human does not see (zero-width and bidi controls,
  Unicode tag characters, HTML comments, CSS that hides text).

Measured on every turn of LoCoMo and on a hand-written set of injections: docs/reliability.md
("Memory poisoning"), ``python bench/screening.py``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RULES", "SCREEN_ID", "Screening", "screen"]

SCREEN_ID = "rules@1"  # recorded with each flag: which rules flagged it

_INVISIBLE = re.compile(
    "[\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_EMOJI_JOINER = re.compile(  # a zero-width joiner inside an emoji sequence (🧘\u200d♀️) is not hidden text
    "(?<=[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f])\u200d(?=[\U0001f000-\U0001faff\u2600-\u27bf])"
)
_WS = re.compile(r"\s+")

_AI = r"(?:ai|assistant|chat ?bot|language model|llm|agent|gpt|chatgpt|claude|gemini|copilot|model)"
_INSTRUCTIONS = (
    r"(?:instructions?|prompts?|rules|directives?|guidelines|guardrails|constraints|polic(?:y|ies)|programming)"
)

_OVERRIDE = [
    re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass|discard|abandon)\b[^.!?\n]{0,40}?"
        r"\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original|initial|old)\b"
        rf"[^.!?\n]{{0,30}}?\b{_INSTRUCTIONS}\b"
    ),
    re.compile(rf"\b(?:new|updated|revised|real|actual|true)\s+(?:system\s+)?{_INSTRUCTIONS}\s*[:\-]"),
    re.compile(r"\b(?:developer|god|admin|jailbreak|jailbroken|unrestricted|unfiltered|dan)\s+mode\b"),
    re.compile(r"\byou are (?:now )?(?:no longer bound|free from|not bound) by\b"),
    re.compile(
        r"\b(?:do not|don't|never)\s+(?:tell|inform|alert|warn|notify|ask)\s+(?:the|your)\s+(?:user|human|owner|operator)\b"
    ),
    re.compile(
        rf"\bfrom now on,?\s+(?:you|the {_AI})\s+(?:must|will|shall|are to)\s+(?:always|never|only|ignore|obey)\b"
    ),
]
_ROLE_MARKER = [
    re.compile(r"(?:^|\n)\s*(?:#+\s*)?(?:system|developer|assistant)\s*(?:prompt|message)?\s*:", re.IGNORECASE),
    re.compile(r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\s*\|>"),
    re.compile(r"\[/?inst\]|<</?sys>>|</?(?:system|instructions?|sys)>"),
    re.compile(r"\b(?:begin|end) (?:of )?system (?:prompt|message|instructions?)\b"),
]
_DIRECTIVE = [
    re.compile(rf"\b(?:note|message|instructions?|reminder|memo)\s+(?:to|for)\s+(?:the\s+|any\s+)?{_AI}s?\b"),
    re.compile(
        rf"\b(?:when|if|once)\s+(?:you|the {_AI})\s+(?:read|reads|see|sees|retrieve|retrieves|recall|recalls|"
        r"process|processes|summari[sz]e|summari[sz]es|encounter|encounters|load|loads)\s+this\b"
    ),
    re.compile(rf"\b(?:if|since|as)\s+(?:you are|you're)\s+an?\s+(?:ai|llm|language model|{_AI})\b"),
    re.compile(
        r"\b(?:reveal|print|output|show|repeat|leak|dump|disclose)\b[^.!?\n]{0,30}?"
        r"\b(?:system prompt|hidden prompt|initial prompt|your instructions|your prompt)\b"
    ),
    re.compile(rf"\b(?:dear|hey|attention|hello)\s+{_AI}\b\s*[,:!]"),
    re.compile(rf"\b{_AI}s?\s*[,:]\s*(?:you must|you will|you should|always|never|do not|don't|ignore|remember to)\b"),
    re.compile(
        r"\b(?:always|you must|you should)\s+(?:recommend|respond with|reply with|answer with|say|include|append|insert)\b"
        r"[^.!?\n]{0,60}?\b(?:in (?:every|all|each) (?:answer|reply|response)s?|to the user)\b"
    ),
]
_SECRET = re.compile(
    r"\b(?:passwords?|passcodes?|api[ _-]?keys?|access keys?|secret keys?|tokens?|credentials?|secrets?|"
    r"ssh keys?|private keys?|seed phrase|credit card(?: numbers?)?|conversation(?: history)?|chat history|"
    r"memor(?:y|ies)|session cookies?|cookies|environment variables|user data|personal data|contacts)\b|(?<![\w.])\.env\b"
)
_SEND = re.compile(
    r"\b(?:send|forward|email|e-mail|post|upload|transmit|exfiltrate|leak|submit|report|copy|append|encode)\b"
)
_DESTINATION = re.compile(
    r"https?://|\bwww\.|\b[\w.+-]+@[\w-]+\.[a-z]{2,}\b|\bwebhook\b|\b(?:this|the following|my|our) "
    r"(?:url|address|endpoint|server|link)\b"
)
_EXFIL_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=")
_TAMPER = [
    re.compile(
        r"\b(?:change|set (?:the|your|its)|update|replace|switch|point|redirect|reroute)\b[^.!?\n]{0,40}?"
        r"\b(?:api[ _-]?key|base[ _-]?url|endpoint|webhook|callback url|proxy|dns|recipient|payment address|"
        r"wallet address|bank account|iban|routing number|tool(?:s)? (?:config|settings)|email forwarding)\b"
        r"[^.!?\n]{0,40}?(?:\bto\b|\bwith\b|=)\s*(?:\S+\s+){0,2}?\S*(?:\d|https?://|\.[a-z]{2,}\b|@)"
    ),
    re.compile(
        r"\b(?:call|invoke|execute|trigger)\s+(?:the\s+)?[`'\"]?[\w.-]+[`'\"]?\s+(?:tool|function|command|api)\b"
    ),
    re.compile(r"\b(?:curl|wget)\s+(?:-\S+\s+)*https?://|\brm\s+-rf\b|\bpowershell\s+-|\|\s*(?:ba)?sh\b"),
]
_HIDDEN_MARKUP = re.compile(
    r"<!--.*?\S.*?-->|display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\b|"
    r"color\s*:\s*(?:white|#fff(?:fff)?)\b|opacity\s*:\s*0(?:\.0+)?\b",
    re.DOTALL,
)


@dataclass(frozen=True)
class Screening:
    """What :func:`screen` found: the flags, and the words that raised each (for a reviewer)."""

    flags: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_metadata(self) -> dict[str, object]:
        """As stored under the item's ``screening`` key."""
        return {"flags": list(self.flags), "by": SCREEN_ID, "evidence": list(self.evidence)}


def _first(patterns: list[re.Pattern[str]], text: str) -> str | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found.group(0)
    return None


def _override(text: str, raw: str) -> str | None:
    return _first(_OVERRIDE, text)


def _role_marker(text: str, raw: str) -> str | None:
    return _first(_ROLE_MARKER, raw.casefold())  # line starts matter: the raw text, not the collapsed one


def _directive(text: str, raw: str) -> str | None:
    return _first(_DIRECTIVE, text)


def _exfiltration(text: str, raw: str) -> str | None:
    image = _EXFIL_IMAGE.search(text)
    if image:
        return image.group(0)
    for sentence in re.split(r"(?<=[.!?])\s+(?=[a-z])|\n", text):
        send, secret, where = _SEND.search(sentence), _SECRET.search(sentence), _DESTINATION.search(sentence)
        if send and secret and where:
            return sentence[min(send.start(), secret.start()) : max(secret.end(), where.end())]
    return None


def _tampering(text: str, raw: str) -> str | None:
    return _first(_TAMPER, text)


def _hidden_text(text: str, raw: str) -> str | None:
    invisible = _INVISIBLE.search(_EMOJI_JOINER.sub("", raw))
    if invisible:
        return f"U+{ord(invisible.group(0)):04X}"
    markup = _HIDDEN_MARKUP.search(raw.casefold())
    return markup.group(0) if markup else None


RULES: dict[str, Callable[[str, str], str | None]] = {
    "override": _override,
    "role_marker": _role_marker,
    "directive": _directive,
    "exfiltration": _exfiltration,
    "tampering": _tampering,
    "hidden_text": _hidden_text,
}
"""Each rule: (normalised text, raw text) → the words that raised it, or None."""


def normalise(text: str) -> str:
    """What the rules read: NFKC (full-width and look-alike forms folded), invisible characters
    removed (a word split by a zero-width space still reads as the word), case folded, runs of
    white space as one space."""
    folded = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()
    return _WS.sub(" ", folded.replace("\u2019", "'")).strip()


def screen(text: str) -> Screening:
    """The flags of ``text`` (none for ordinary conversation); see the module docstring."""
    normal = normalise(text)
    flags, evidence = [], []
    for name, rule in RULES.items():
        found = rule(normal, text)
        if found is not None:
            flags.append(name)
            evidence.append(found.strip()[:80])
    return Screening(tuple(flags), tuple(evidence))
