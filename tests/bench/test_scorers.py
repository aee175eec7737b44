"""The routing task scorers give credit for right answers and none for wrong ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
from scorers import score

NOT_FOUND = "Dazu habe ich auf den Serviceseiten nichts gefunden."


def test_classify_and_extract() -> None:
    task = {"type": "classify", "reference": "Bürgeramt"}
    assert score(task, '{"abteilung": "Bürgeramt"}') == 1.0 and score(task, "Ordnungsamt") == 0.0
    extraction = {
        "type": "extract", "free_text_fields": ["anliegen"],
        "reference": {"name": "Erika Mustermann", "telefon": None, "anliegen": "Sperrmüll Freitag abholen"},
    }  # fmt: skip
    good = '{"name": "erika mustermann", "telefon": null, "anliegen": "Abholung von Sperrmüll Freitag"}'
    assert score(extraction, good) == 1.0
    assert score(extraction, '{"name": "Max", "telefon": "0123", "anliegen": "Hund"}') == 0.0
    assert score(extraction, "kein JSON") == 0.0


def test_qa_simplify_summarize() -> None:
    question = {"type": "qa", "key_facts": ["96 Euro", "1. Juli"]}
    assert score(question, "Die Steuer beträgt 96 Euro und ist zum 1. Juli fällig [1].", NOT_FOUND) == 1.0
    assert score(question, "Die Steuer beträgt 96 Euro.", NOT_FOUND) == 0.5
    assert (
        score({"type": "qa", "key_facts": ["96,00 Euro", "18:00 Uhr"]}, "96 € bis 18 Uhr", NOT_FOUND) == 1.0
    )
    unanswerable = {"type": "qa", "key_facts": [], "answerable": False}
    assert score(unanswerable, NOT_FOUND + " Bitte rufen Sie an.", NOT_FOUND) == 1.0
    assert score(unanswerable, "Das Freibad öffnet um 9 Uhr.", NOT_FOUND) == 0.0
    simple = {"type": "simplify", "key_facts": ["bis 30. Juni"]}
    assert score(simple, "Sie müssen zahlen. Sie zahlen bis 30. Juni.") == 1.0
    assert score(simple, "") == 0.0
    summary = {"type": "summarize", "key_facts": ["Spielplatz", "40.000 Euro"], "max_words": 10}
    assert score(summary, "Der Ausschuss beschließt den Spielplatz für 40.000 Euro.") == 1.0
    assert score(summary, "Spielplatz " * 30 + "40.000 Euro") == 0.5


def test_the_task_set_is_complete_and_well_formed() -> None:
    folder = Path(__file__).parents[2] / "bench" / "datasets" / "tasks"
    sys.path.insert(0, str(folder.parents[1]))
    from routing import load_tasks

    tasks = load_tasks(folder, None)
    kinds = {t["type"] for t in tasks}
    assert len(tasks) >= 300 and kinds == {"classify", "extract", "qa", "simplify", "summarize"}
    assert len({t["id"] for t in tasks}) == len(tasks)
    labels = {label["value"] for label in tasks[0]["labels"]}
    assert all(t["reference"] in labels for t in tasks if t["type"] == "classify")
    for task in tasks:  # every reference answer scores full marks with its own scorer
        if task["type"] == "classify":
            assert score(task, task["reference"]) == 1.0
        elif task["type"] == "extract":
            assert score(task, json.dumps(task["reference"], ensure_ascii=False)) == 1.0
