"""The demo base: People and Tasks, linked both ways, with most common field types. Deterministic per seed."""

import random
from datetime import date, timedelta
from typing import Any

from .model import AirtableState, Base

DEMO_BASE_ID = "appDEMO0000000001"
DEMO_BASE_NAME = "Demo mirror"

_FIRST_NAMES = [
    "Ada", "Alan", "Barbara", "Claude", "Dennis", "Edsger", "Frances", "Grace", "Hedy", "Ivan",
    "Joan", "Ken", "Linus", "Margaret", "Niklaus", "Radia", "Shafi", "Tim", "Ursula", "Whitfield",
]  # fmt: skip
_LAST_NAMES = [
    "Lovelace", "Turing", "Liskov", "Shannon", "Ritchie", "Dijkstra", "Allen", "Hopper", "Lamarr",
    "Sutherland", "Clarke", "Thompson", "Torvalds", "Hamilton", "Wirth", "Perlman", "Goldwasser",
    "Berners-Lee", "Franklin", "Diffie",
]  # fmt: skip
_SKILLS = ["Python", "Go", "SQL", "Design", "Writing", "Ops", "Security", "Data"]
_STATUSES = ["Todo", "In progress", "Blocked", "Done"]
_TAGS = ["bug", "feature", "chore", "docs", "urgent", "customer"]
_VERBS = ["Write", "Review", "Fix", "Plan", "Ship", "Test", "Document", "Refactor", "Measure", "Design"]
_OBJECTS = [
    "the sync worker", "the webhook receiver", "rate limiting", "the records API", "pagination",
    "the DynamoDB schema", "backups", "the dashboard", "alerting", "the CLI", "release notes", "onboarding",
]  # fmt: skip
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _choices(names: list[str]) -> dict[str, Any]:
    return {"choices": [{"name": name} for name in names]}


PEOPLE_SPEC: dict[str, Any] = {
    "name": "People",
    "description": "Everyone who can be assigned a task",
    "fields": [
        {"name": "Name", "type": "singleLineText"},
        {"name": "Email", "type": "email"},
        {"name": "Age", "type": "number", "options": {"precision": 0}},
        {"name": "Skills", "type": "multipleSelects", "options": _choices(_SKILLS)},
        {"name": "Avatar", "type": "multipleAttachments", "options": {"isReversed": False}},
        {"name": "Notes", "type": "multilineText"},
    ],
    "views": [{"name": "Grid view", "sort": [("Name", "asc")]}],
}

TASKS_SPEC: dict[str, Any] = {
    "name": "Tasks",
    "fields": [
        {"name": "Title", "type": "singleLineText"},
        {"name": "Status", "type": "singleSelect", "options": _choices(_STATUSES)},
        {"name": "Tags", "type": "multipleSelects", "options": _choices(_TAGS)},
        {"name": "Done", "type": "checkbox", "options": {"color": "greenBright", "icon": "check"}},
        {"name": "Due", "type": "date", "options": {"dateFormat": {"name": "iso", "format": "YYYY-MM-DD"}}},
        {"name": "Estimate", "type": "number", "options": {"precision": 1}},
        {"name": "Assignee", "type": "multipleRecordLinks", "options": {"linkedTable": "People"}},
        {"name": "Notes", "type": "multilineText"},
    ],
    "views": [
        {"name": "Grid view"},
        {"name": "Open tasks", "formula": "NOT({Done})", "sort": [("Due", "asc")]},
    ],
}


def _avatar(initials: str, color: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
        f'<rect width="64" height="64" fill="{color}"/>'
        '<text x="32" y="40" font-size="24" text-anchor="middle" fill="white">'
        f"{initials}</text></svg>"
    ).encode()


def build_demo_base(
    state: AirtableState,
    *,
    seed: int = 0,
    people: int = 100,
    tasks: int = 300,
    base_id: str = DEMO_BASE_ID,
) -> Base:
    """Create the demo base in ``state`` (as if made in the UI: ``source="client"``)."""
    rng = random.Random(seed)
    base = state.create_base(DEMO_BASE_NAME, [PEOPLE_SPEC, TASKS_SPEC], base_id=base_id)
    people_rows: list[dict[str, Any]] = []
    for index in range(people):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        row: dict[str, Any] = {
            "Name": f"{first} {last} {index + 1}",
            "Email": f"{first.lower()}.{last.lower()}.{index + 1}@example.com",
            "Age": rng.randint(20, 65),
            "Skills": rng.sample(_SKILLS, rng.randint(0, 3)),
        }
        if rng.random() < 0.7:
            row["Avatar"] = [
                {
                    "content": _avatar(first[0] + last[0], rng.choice(_COLORS)),
                    "filename": f"avatar-{index + 1}.svg",
                    "type": "image/svg+xml",
                }
            ]
        if rng.random() < 0.3:
            row["Notes"] = f"Joined in {rng.randint(2015, 2025)}.\nPrefers {rng.choice(_SKILLS)} work."
        people_rows.append(row)
    created_people = state.create_records(base.id, "People", people_rows)
    person_ids = [record.id for record in created_people]
    start = date(2025, 1, 1)
    task_rows: list[dict[str, Any]] = []
    for index in range(tasks):
        status = rng.choice(_STATUSES)
        row = {
            "Title": f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)} #{index + 1}",
            "Status": status,
            "Tags": rng.sample(_TAGS, rng.randint(0, 2)),
            "Done": status == "Done",
            "Due": (start + timedelta(days=rng.randint(0, 364))).isoformat(),
            "Estimate": round(rng.uniform(0.5, 8.0), 1),
        }
        if person_ids and rng.random() < 0.85:
            row["Assignee"] = [rng.choice(person_ids)]
        if rng.random() < 0.2:
            row["Notes"] = f"Follow up with {rng.choice(_FIRST_NAMES)}."
        task_rows.append(row)
    state.create_records(base.id, "Tasks", task_rows)
    return base
