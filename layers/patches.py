"""Exact source patches to the dependency layer's packages, applied after pip installs them.

Each patch replaces text that must occur exactly once in the installed file; otherwise the build fails (a new
version of the package changed that code: check whether the reason still holds, then redo or drop the patch).
Patches change when code runs, never what it does.

- ``urllib3/http2/__init__.py`` (urllib3 2.8.0): ``from importlib.metadata import version`` at module level.
  ``urllib3.connection`` imports ``urllib3.http2.probe``, so every ``import urllib3`` (every botocore client)
  imports ``importlib.metadata`` and with it ``email``, ``zipfile``, ``csv`` and more: 14-27 ms of each cold start
  on a 2-core host (``python -X importtime``). ``version("h2")`` is only called by ``inject_into_urllib3()``
  (opt-in HTTP/2, which nothing here uses), so the import moves into that function. urllib3's main branch still
  imports it at module level (July 2026).

Usage: ``python -m layers.patches LAYER_PYTHON_DIR`` (stdlib only).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


class PatchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Patch:
    path: str  # relative to the layer's python dir
    edits: tuple[tuple[str, str], ...]  # (old, new): old must occur exactly once


URLLIB3_HTTP2 = Patch("urllib3/http2/__init__.py", (
    ("from __future__ import annotations\n\nfrom importlib.metadata import version\n\n",
     "from __future__ import annotations\n\n"),
    ('    # First check if h2 version is valid\n    h2_version = version("h2")\n',
     "    # First check if h2 version is valid\n"
     "    # (imported here by the Bazaar layer build, not by every `import urllib3`: layers/patches.py)\n"
     "    from importlib.metadata import version\n\n"
     '    h2_version = version("h2")\n'),
))
PATCHES = (URLLIB3_HTTP2,)


def patched_source(source: str, patch: Patch) -> str:
    for old, new in patch.edits:
        found = source.count(old)
        if found != 1:
            raise PatchError(f"{patch.path}: expected text found {found} times instead of once (a new version of "
                             f"the package? see layers/patches.py):\n{old}")
        source = source.replace(old, new)
    compile(source, patch.path, "exec")  # still valid Python
    return source


def apply(layer_python: Path, patches: tuple[Patch, ...] = PATCHES) -> list[str]:
    """Patches the files in place (all checked before any is written); returns their paths."""
    out = {}
    for patch in patches:
        path = layer_python / patch.path
        if not path.is_file():
            raise PatchError(f"{path}: not in the layer")
        out[path] = patched_source(path.read_text(encoding="utf-8"), patch)
    for path, text in out.items():
        path.write_text(text, encoding="utf-8")
    return [p.path for p in patches]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        done = apply(Path(argv[0]))
    except PatchError as exc:
        print(f"layer patches: {exc}", file=sys.stderr)
        return 1
    print("patched: " + ", ".join(done))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
