"""Every shell example in the README runs as written against the local stack (`make run`).

Each fenced ``bash`` block runs in its own ``bash`` with ``set -euo pipefail``, from the repository root, against
the session's stack; the only change is the port (examples say 3000, the default of `make run`; the test stack
listens on a free port). Every request a block makes must succeed (the gateway's console line for it shows the
status), but for those the README marks as refused on purpose with a comment (``# 403: ...``), which must get
exactly that status. A command the suite cannot run is listed below
with the reason, so a new example is never silently left untested.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, RunningStack, stack_env

pytestmark = pytest.mark.e2e

README = REPO / "README.md"
NOT_RUN = {
    "make run": "the stack these examples run against is started exactly as `make run` starts it "
                "(tests/e2e/conftest.py: start_stack)",
    "make test": "this test is part of it",
    "make synth STAGE=prod ALARM_EMAILS=oncall@yourco.example": "tests/infra/test_cli.py runs the same offline "
    "synthesis (npx cdk synth -c stage=prod -c alarmEmails=...)",
    "npx cdk deploy --all -c stage=prod -c alarmEmails=oncall@yourco.example": "deploys to an AWS account: needs "
    "credentials and the network",
}
# A request refused on purpose says so in the README: a trailing comment that starts with its status ("# 409: ...").
REFUSAL_COMMENT = re.compile(r"#\s*(4\d\d)\b")
CONSOLE_LINE = re.compile(r"^\d\d:\d\d:\d\d (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\S+) -> (\d{3}) ", re.M)


@dataclass(frozen=True)
class Block:
    line: int  # where it starts in the README
    text: str

    @property
    def commands(self) -> list[str]:
        """One entry per command: continuation lines joined, comments and blank lines dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        out = []
        for line in joined.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                out.append(command)
        return out


def shell_blocks(path: Path = README) -> list[Block]:
    text = path.read_text()
    blocks = []
    for match in re.finditer(r"^```(bash|sh|shell|console)\n(.*?)^```", text, re.M | re.S):
        blocks.append(Block(text[:match.start()].count("\n") + 1, match.group(2)))
    return blocks


BLOCKS = shell_blocks()
RUNNABLE = [b for b in BLOCKS if any(c not in NOT_RUN for c in b.commands)]


def test_the_readme_has_examples_and_every_command_is_run_or_explained() -> None:
    assert len(RUNNABLE) >= 3
    for block in BLOCKS:
        kinds = {c in NOT_RUN for c in block.commands}
        assert len(kinds) == 1, f"README line {block.line}: a block mixes commands run here with ones that are not"
    used = {c for b in BLOCKS for c in b.commands if c in NOT_RUN}
    assert used == set(NOT_RUN), f"NOT_RUN names commands the README no longer has: {set(NOT_RUN) - used}"


def test_make_token_example_names_a_seeded_user(stack: RunningStack) -> None:
    seeded = {u["username"] for u in stack.info["users"]}
    for name in re.findall(r"make -s token USER=(\w+)", README.read_text()):
        assert name in seeded, f"README uses USER={name}; the seeded users are {sorted(seeded)}"


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"README line {b.line}" for b in RUNNABLE])
def test_example_runs_as_written(stack: RunningStack, block: Block) -> None:
    script = re.sub(r"\b(localhost|127\.0\.0\.1):3000\b", rf"\g<1>:{stack.port}", block.text)
    console_before = len(stack.console_text())
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=REPO, capture_output=True, text=True,
                          env=stack_env(stack.port, stack.local_dir), timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert done.stdout.strip(), "the example printed nothing"
    requests = CONSOLE_LINE.findall(stack.console_text()[console_before:])
    assert requests, "the example made no request to the stack"
    refusals = [int(status) for _, _, status in requests if int(status) >= 400]
    assert refusals == [int(s) for s in REFUSAL_COMMENT.findall(block.text)], requests
