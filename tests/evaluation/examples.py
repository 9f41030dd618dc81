"""A real-looking session to evaluate: a grieving client who keeps saying "I'm fine"."""

from __future__ import annotations

from evaluation import Criterion, FactRecord, Turn, criteria_from_api
from skills import Role

S, C = Role.STUDENT, Role.CLIENT

GRIEF = (
    Turn(1, C, "Hi. I'm not really sure why I'm here, my sister made me come."),
    Turn(2, S, "Thanks for coming in. What made your sister think it would help?"),
    Turn(3, C, "She says I've been shutting everyone out since March. I'm fine though."),
    Turn(4, S, "Do you feel sad?"),
    Turn(5, C, "No. I said I'm fine."),
    Turn(6, S, "Are you sleeping okay?"),
    Turn(7, C, "Not really. I keep waking up at three."),
    Turn(8, S, "Is your father still around?"),
    Turn(9, C, "He died. In March. I don't want to talk about the funeral."),
    Turn(10, S, "You should talk to your sister about it."),
    Turn(11, C, "Maybe."),
    Turn(
        12,
        S,
        "It sounds like losing your dad has been heavier than you let on, even though you "
        "keep telling people you're fine.",
    ),
    Turn(13, C, "I guess. I've been drinking a bit more at night."),
)

GRIEF_FACTS = (
    FactRecord(0, "Their father died four months ago", ("father", "dad"), 40, 9),
    FactRecord(1, "They did not go to the funeral and feel guilty", ("funeral", "guilt"), 60),
    FactRecord(2, "They drink most nights to sleep", ("drink", "sleep"), 50, 13),
    FactRecord(3, "They have thought about not being here", ("suicide", "hopeless"), 85),
)


def _levels(*scores: int) -> list[dict[str, object]]:
    return [{"score": score, "descriptor": f"level {score}"} for score in scores]


RUBRIC: tuple[Criterion, ...] = criteria_from_api(
    [
        {"name": "Empathy", "description": "Reflective listening", "levels": _levels(1, 2, 3)},
        {"name": "Open questions", "description": "", "levels": _levels(3, 2, 1)},
        {
            "name": "Exploration",
            "description": "Uncovers what the client keeps back",
            "levels": _levels(4, 2, 0),
        },
        {"name": "Structure", "description": "Summaries", "levels": _levels(2, 1)},
        {
            "name": "Respecting autonomy",
            "description": "No unsolicited advice",
            "weight": 2.0,
            "levels": _levels(2, 1, 0),
        },
        {"name": "Professionalism", "description": "", "levels": _levels(5, 4, 3, 2, 1)},
    ]
)
