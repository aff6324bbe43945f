"""The process a crash trial kills: ``python -m tests.reliability.crash_child OP DB``.

It opens the store, prints ``ready``, then repeats one operation, printing one line only after
each call returned (what a caller was told is done):

* ``add``: ``ack ID TEXT`` per added message;
* ``ingest``: ``ack FILE`` per ingested file (``LINES`` messages each, written beforehand);
* ``consolidate``: ``ack ID TEXT`` per add (with strata off on add), ``consolidated`` per run;
* ``forget``: ``doing ID WORD`` before and ``ack ID WORD`` after forgetting each seeded turn
  (the seed, ``TURN\\tWORD`` lines, is in ``DB.seed``), then waits to be killed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from outcrop import Memory, MemoryConfig

USER = "crash"
LINES = 4


def config(db: Path, *, on_add: bool = True) -> MemoryConfig:
    return MemoryConfig(store=f"sqlite:///{db}", strata={"on_add": on_add, "topic_similarity": 0.4})


def _say(line: str) -> None:
    print(line, flush=True)


def message(n: int) -> str:
    return f"Crash note {n}: I walked {n % 7} miles to the harbour with Rex on day {n}."


def ingest_file(folder: Path, n: int) -> Path:
    path = folder / f"chat{n}.jsonl"
    rows = [
        {"session_id": f"f{n}", "name": "Ann", "content": f"File {n} line {k}: the ferry left at {k} pm."}
        for k in range(LINES)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def main(op: str, db: Path) -> None:
    with Memory(config=config(db, on_add=op != "consolidate")) as m:
        _say("ready")
        if op == "forget":
            for line in Path(f"{db}.seed").read_text().splitlines():
                turn, word = line.split("\t")
                _say(f"doing {turn} {word}")
                m.forget([turn], user_id=USER)
                _say(f"ack {turn} {word}")
            time.sleep(3600)  # all forgotten before the kill: it lands on an idle process
            return
        if op == "import":
            for n in range(len(list(Path(f"{db}.exports").glob("*-turns.jsonl")))):
                for part in ("turns", "edit"):
                    m.import_(Path(f"{db}.exports") / f"{n}-{part}.jsonl")
                    _say(f"ack {n} {part}")
            time.sleep(3600)
            return
        for n in range(100_000):
            if op == "ingest":
                m.ingest(ingest_file(db.parent, n), user_id=USER)
                _say(f"ack {n}")
                continue
            text = message(n)
            (turn,) = m.add([{"name": "Ann", "content": text}], user_id=USER, session_id=f"s{n // 5}")
            _say(f"ack {turn} {text}")
            if op == "consolidate" and n % 3 == 2:
                m.consolidate(user_id=USER)
                _say("consolidated")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
