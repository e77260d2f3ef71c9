"""Stages Lambda code and layer folders under ``build/`` by copying files (never importing them).

``build/functions/<name>/<hash>/`` holds one function's asset, ``build/shared-layer/<hash>/python/bazaar`` the
shared layer. Each staged folder is named after a hash of its content and built in a temp folder, then renamed
into place: re-synthesizing unchanged code reuses it, and two synths running at once (tests, `cdk synth`) never
see a half-copied folder. Superseded versions are pruned once they are an hour old.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

from bazaar.manifest import Function
from layers.bytecode import compile_tree, find_interpreter

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
FUNCTION_ASSETS = BUILD / "functions"
SHARED_LAYER_ASSETS = BUILD / "shared-layer"
GENERATED = BUILD / "generated"  # documents generated from the routers (manifest ``generated``)
DEPENDENCY_LAYER = BUILD / "layer"  # built by `make layer` (layers/build.sh); holds python/
FUNCTIONS_DIR = ROOT / "functions"
SHARED_PACKAGE = ROOT / "shared" / "bazaar"

_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
_PRUNE_AFTER_S = 3600
# Not part of the dependency layer: the Makefile's build marker.
LAYER_EXCLUDE = [".built"]


def _files(src: Path) -> list[Path]:
    """Every file under ``src`` (sorted, caches skipped)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        out += [Path(dirpath, f) for f in sorted(filenames)
                if not f.endswith(_SKIP_SUFFIXES) and not f.startswith(".")]
    return out


def _stage(parent: Path, entries: Iterable[tuple[Path, str]]) -> Path:
    """Copy (source file, destination relative path) pairs into ``parent/<content hash>``; return that folder."""
    pairs = sorted(entries, key=lambda e: e[1])
    digest = hashlib.sha256()
    digest.update(f"bytecode:{find_interpreter() or 'none'}\0".encode())  # with/without .pyc: another asset
    for src, rel in pairs:
        digest.update(rel.encode() + b"\0" + src.read_bytes() + b"\0")
    target = parent / digest.hexdigest()[:16]
    if not target.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
        for src, rel in pairs:
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        compile_tree(tmp)  # ship bytecode for the runtime's Python (no-op without that interpreter)
        try:
            tmp.rename(target)
        except OSError:  # a concurrent synth staged the same content first
            shutil.rmtree(tmp, ignore_errors=True)
    os.utime(target)  # in use: not a pruning candidate for the next hour
    _prune(parent, keep=target)
    return target


def _prune(parent: Path, keep: Path) -> None:
    cutoff = time.time() - _PRUNE_AFTER_S
    for old in parent.iterdir():
        if old != keep and old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def _tree(src: Path, dest_prefix: str) -> list[tuple[Path, str]]:
    return [(f, f"{dest_prefix}/{f.relative_to(src).as_posix()}") for f in _files(src)]


def generated_files(fn: Function) -> list[tuple[Path, str]]:
    """The files the build generates for ``fn`` (manifest ``generated``) as (file, path in the asset).

    Generated from the routers by ``python -m bazaar.web.openapi`` in its own process (infra never imports handler
    code), once per content of functions/ and shared/bazaar/."""
    if not fn.generated:
        return []
    digest = hashlib.sha256()
    for root in (FUNCTIONS_DIR, SHARED_PACKAGE):
        for f in _files(root):
            digest.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    out = GENERATED / digest.hexdigest()[:16]
    if not all((out / name).is_file() for name in fn.generated):
        tmp = Path(tempfile.mkdtemp(prefix=".generating-", dir=_mkdir(GENERATED)))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT)]),
               "POWERTOOLS_SERVICE_NAME": "bazaar", "POWERTOOLS_TRACE_DISABLED": "true"}
        subprocess.run([sys.executable, "-m", "bazaar.web.openapi", str(tmp), *fn.generated], env=env, check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
        out.mkdir(exist_ok=True)
        for name in fn.generated:
            os.replace(tmp / name, out / name)  # atomic per file: a concurrent synth sees a whole file or none
        shutil.rmtree(tmp, ignore_errors=True)
    os.utime(out)
    _prune(GENERATED, keep=out)
    return [(out / name, f"functions/{fn.name}/{name}") for name in fn.generated]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def function_code(fn: Function) -> Path:
    """``functions/__init__.py`` + ``functions/<name>/**`` (``code="all"``: every function folder) + what the build
    generates for it."""
    own = FUNCTIONS_DIR / fn.name
    if not (own / "handler.py").is_file():
        raise FileNotFoundError(f"{own}/handler.py is missing: every manifest entry needs its handler")
    folders = [own]
    if fn.code == "all":  # e.g. the OpenAPI document imports every function's router
        folders = sorted(d for d in FUNCTIONS_DIR.iterdir() if d.is_dir() and d.name not in _SKIP_DIRS)
    entries: list[tuple[Path, str]] = generated_files(fn)
    for folder in folders:
        entries += _tree(folder, f"functions/{folder.name}")
    init = FUNCTIONS_DIR / "__init__.py"
    if init.is_file():
        entries.append((init, "functions/__init__.py"))
    else:  # the package marker is all Lambda needs to import functions.<name>.handler
        empty = BUILD / "empty" / "__init__.py"
        empty.parent.mkdir(parents=True, exist_ok=True)
        empty.touch()
        entries.append((empty, "functions/__init__.py"))
    return _stage(FUNCTION_ASSETS / fn.name, entries)


def shared_layer() -> Path:
    """The shared library as a layer: ``python/bazaar/**`` (Lambda puts ``/opt/python`` on sys.path)."""
    return _stage(SHARED_LAYER_ASSETS, _tree(SHARED_PACKAGE, "python/bazaar"))


def dependency_layer() -> Path:
    if not (DEPENDENCY_LAYER / "python").is_dir():
        raise FileNotFoundError(f"{DEPENDENCY_LAYER}/python not found: run `make layer` first")
    return DEPENDENCY_LAYER
