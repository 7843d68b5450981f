"""README.md's two commands: the first ```sh block, first line the main one, second the tests.

Standard library only: ``.ci/run`` runs this file with the system python3 before anything is
installed (``python3 tests/support/readme.py README.md`` prints the two lines).
"""

from __future__ import annotations

import sys
from pathlib import Path


def readme_commands(text: str) -> tuple[str, str]:
    """The main command and the test command, exactly as README.md writes them."""
    lines = text.splitlines()
    try:
        start = lines.index("```sh") + 1
        end = lines.index("```", start)
    except ValueError:
        raise ValueError("README.md has no ```sh block") from None
    commands = [line for line in lines[start:end] if line.strip()]
    if len(commands) != 2:
        raise ValueError(f"README.md's first ```sh block holds {len(commands)} lines, not 2")
    return commands[0], commands[1]


if __name__ == "__main__":
    main_command, test_command = readme_commands(Path(sys.argv[1]).read_text(encoding="utf-8"))
    print(main_command)
    print(test_command)
