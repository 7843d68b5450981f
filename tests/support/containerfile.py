"""Read a Containerfile and run its build steps without a container engine.

No image can be built on these machines (no registry for base images), so the steps
run in order on this host: each stage's filesystem is a temporary directory ("the
root"), absolute paths the Containerfile creates are mapped into it, ``python`` is this
interpreter (the base image's), and a new stage starts from an empty root with the
earlier stages put aside, so a final stage that leans on a build stage's files fails.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_DIRS = frozenset({"usr", "bin", "lib", "lib64", "etc", "dev", "proc", "sys", "tmp"})
_ABSOLUTE = re.compile(r"(?:(?<=^)|(?<=[\s=:]))/[^\s:;&|'\"]*")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass
class Instruction:
    keyword: str
    text: str  # the arguments, continuation lines joined


@dataclass
class Stage:
    base: str
    name: str | None
    steps: list[Instruction] = field(default_factory=list)


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults, and the stages with their instructions."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, f"{path}: a continuation at the end"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, text = line.partition(" ")
        keyword, text = keyword.upper(), text.strip()
        if keyword == "FROM":
            words = text.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(substitute(words[0], args), name))
        elif not stages and keyword == "ARG":
            key, _, value = text.partition("=")
            args[key] = value
        else:
            assert stages, f"{path}: {keyword} before FROM"
            stages[-1].steps.append(Instruction(keyword, text))
    return args, stages


def substitute(text: str, variables: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)


def pairs(text: str) -> dict[str, str]:
    """``K=V K2="V 2"`` (LABEL and ENV)."""
    out: dict[str, str] = {}
    for word in shlex.split(text):
        key, _, value = word.partition("=")
        out[key] = value
    return out


@dataclass
class Build:
    """Runs a parsed Containerfile's stages from ``context`` inside ``work``."""

    context: Path
    work: Path
    environ: dict[str, str]  # what the build host passes to RUN (the package index, say)
    root: Path = Path()
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = Path()
    stages: dict[str, Path] = field(default_factory=dict)

    def map(self, path: str) -> str:
        first = path.strip("/").split("/", 1)[0]
        if first in SYSTEM_DIRS or not first:
            return path
        return str(self.root / path.lstrip("/"))

    def map_text(self, text: str) -> str:
        return _ABSOLUTE.sub(lambda m: self.map(m.group(0)), text)

    def run_stage(self, index: int, stage: Stage, args: dict[str, str]) -> None:
        if self.root != Path():  # earlier stages are put aside: only COPY --from reaches them
            aside = self.work / f"stage-{index - 1}"
            self.root.rename(aside)
            for name, where in list(self.stages.items()):
                if where == self.root:
                    self.stages[name] = aside
        self.root = self.work / "root"
        self.root.mkdir(parents=True)
        if stage.name:
            self.stages[stage.name] = self.root
        host_bin = self.work / "base-image-bin"
        host_bin.mkdir(exist_ok=True)
        python = host_bin / "python"
        python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        python.chmod(0o755)
        self.env = {
            **self.environ,
            "PATH": f"{host_bin}:/usr/bin:/bin",
            "HOME": str(self.root / "root"),  # a cache written to ~ would land in the image
        }
        self.cwd = self.root
        variables = dict(args)
        for step in stage.steps:
            self.step(step, variables)

    def step(self, step: Instruction, variables: dict[str, str]) -> None:
        text = substitute(step.text, {**variables, **self.env})
        if step.keyword == "ARG":
            key, _, value = text.partition("=")
            variables.setdefault(key, value)
        elif step.keyword == "WORKDIR":
            self.cwd = Path(self.map(text))
            self.cwd.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "ENV":
            self.env.update({k: self.map_text(v) for k, v in pairs(text).items()})
        elif step.keyword == "COPY":
            self.copy(shlex.split(text))
        elif step.keyword == "RUN":
            subprocess.run(
                ["/bin/sh", "-c", self.map_text(text)],
                cwd=self.cwd,
                env=self.env,
                check=True,
                timeout=600,
            )

    def copy(self, words: list[str]) -> None:
        source_root = self.context
        flags = [w for w in words if w.startswith("--")]
        for flag in flags:
            if flag.startswith("--from="):
                source_root = self.stages[flag.removeprefix("--from=")]
        *sources, dest = [w for w in words if not w.startswith("--")]
        target = Path(self.map(dest))
        for source in sources:
            origin = source_root / source.lstrip("/")
            if origin.is_dir():  # a directory's contents, as COPY does
                shutil.copytree(
                    origin,
                    target,
                    dirs_exist_ok=True,
                    symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            else:
                into = target / origin.name if dest.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)

    def entrypoint(self, stage: Stage) -> list[str]:
        (line,) = [s.text for s in stage.steps if s.keyword == "ENTRYPOINT"]
        argv: list[str] = json.loads(line)
        found = shutil.which(argv[0], path=self.env["PATH"])
        assert found, f"{argv[0]} is not on the image's PATH {self.env['PATH']}"
        return [found, *argv[1:]]


def labels(stage: Stage, variables: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for step in stage.steps:
        if step.keyword == "ARG":
            key, _, value = step.text.partition("=")
            variables = {**variables, key: value}
        if step.keyword == "LABEL":
            out.update({k: substitute(v, variables) for k, v in pairs(step.text).items()})
    return out


def remove_aside(work: Path) -> None:
    """The build stages are not in the final image."""
    for stage in work.glob("stage-*"):
        shutil.rmtree(stage)
