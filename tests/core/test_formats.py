import json
from pathlib import Path

import pytest

from outcrop.core.formats import iter_batches, read_batches
from outcrop.errors import InvalidInputError


def test_json_sessions(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "sessions": [
                    {"session_id": "a", "timestamp": "2024-01-01", "messages": [{"content": "hi"}]},
                    {"session_id": "b", "messages": [{"content": "yo"}, {"content": "hey"}]},
                ]
            }
        )
    )
    batches = read_batches(path)
    assert [(b.session_id, len(b.messages)) for b in batches] == [("a", 1), ("b", 2)]
    assert batches[0].timestamp == "2024-01-01"


def test_jsonl_groups_consecutive_lines_by_session(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = [
        {"session_id": "a", "content": "1"},
        {"session_id": "a", "content": "2"},
        {"session_id": "b", "content": "3"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert [(b.session_id, [m["content"] for m in b.messages]) for b in read_batches(path)] == [
        ("a", ["1", "2"]),
        ("b", ["3"]),
    ]


def test_locomo_layout_is_detected(locomo_path: Path) -> None:
    batches = read_batches(locomo_path)
    assert batches[0].user_id == "conv-26" and batches[0].session_id == "session_1"
    assert batches[0].timestamp == "1:56 pm on 8 May, 2023"
    first = batches[0].messages[0]
    assert first["name"] == "Caroline" and first["metadata"]["dia_id"] == "D1:1"
    assert sum(len(b.messages) for b in batches) == 3435


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        ("bad.jsonl", '{"content": "a"}\n[1, 2]\n', "line 2 must be a JSON object"),
        ("bad.json", '{"sessions": [{"messages": 3}]}', "session 0"),
        ("bad.json", '"a string"', "must hold a list"),
    ],
)
def test_malformed_files_get_clear_errors(tmp_path: Path, name: str, content: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=match):
        read_batches(path)


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"content": "caf\xe9"}]'.encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        read_batches(path)


def test_iter_batches_streams_a_jsonl_file_as_read_batches_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = [{"session_id": f"s{i // 3}", "content": f"message {i}"} for i in range(10)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    streamed = iter_batches(path)
    assert not isinstance(streamed, list)  # a generator: the file is read as it is consumed
    assert [(b.session_id, b.messages) for b in streamed] == [(b.session_id, b.messages) for b in read_batches(path)]


def test_iter_batches_reports_the_bad_line_of_a_streamed_file(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"content": "fine"}\n{"content": "\xff"}\n')
    with pytest.raises(InvalidInputError, match="not UTF-8 text \\(line 2\\)"):
        list(iter_batches(path))
    path.write_text('{"content": "fine"}\n[1]\n')
    with pytest.raises(InvalidInputError, match="line 2 must be a JSON object"):
        list(iter_batches(path))
    with pytest.raises(InvalidInputError, match="cannot read"):
        list(iter_batches(tmp_path / "missing.jsonl"))
