"""Print the hub's internal protocol as JSON Schema: `python -m hub_under_test.schema`.

The messages and the commands (which register themselves in the same registry) are both
imported here, so that `messages` itself need not import `commands` (commands builds on
messages: the dependency goes one way).
"""
from __future__ import annotations

import json

from . import commands, messages  # noqa: F401  (commands register themselves on import)
from . import hub  # noqa: F401  (and so do the features' events: the whole hub is loaded)


def main() -> None:
    print(json.dumps(messages.json_schema(), indent=2))


if __name__ == "__main__":
    main()
