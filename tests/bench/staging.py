"""Stage what Lambda would run (per-function code dirs, the shared-code layer, a bytecode-free stand-in for the
dependency layer) and measure package sizes (zipped in memory, DEFLATED, like a deployment zip)."""

from __future__ import annotations

import io
import os
import shutil
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from bazaar.manifest import Function

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
SHARED_DIR = REPO_ROOT / "shared"
LAYER_DIR = REPO_ROOT / "build" / "layer"  # `make layer`: LAYER_DIR/python is what Lambda puts on sys.path
DEFAULT_STAGE_ROOT = REPO_ROOT / "build" / "bench"

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")


def _skipped(path: Path) -> bool:
    return any(part == "__pycache__" or part.startswith(".") for part in path.parts) or path.suffix in (".pyc", ".pyo")


def iter_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` a package would hold (no bytecode caches, no dotfiles such as ``.built``)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not _skipped(path.relative_to(root)):
                yield path


@dataclass(frozen=True)
class Size:
    files: int
    unzipped_bytes: int
    zipped_bytes: int

    @property
    def zipped_kib(self) -> float:
        return self.zipped_bytes / 1024

    def as_dict(self) -> dict[str, float]:
        return {"files": self.files, "unzipped_bytes": self.unzipped_bytes, "zipped_bytes": self.zipped_bytes,
                "zipped_kib": round(self.zipped_kib, 1)}


def zip_size(root: Path, prefix: str = "") -> Size:
    """Size of a DEFLATED zip of ``root``'s files (arcnames relative to ``root``, under ``prefix``), built in memory."""
    buf = io.BytesIO()
    files = unzipped = 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in iter_files(root):
            info = zipfile.ZipInfo(prefix + path.relative_to(root).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            zf.writestr(info, data)
            files += 1
            unzipped += len(data)
    return Size(files=files, unzipped_bytes=unzipped, zipped_bytes=len(buf.getvalue()))


def function_dirs(fn: Function) -> list[Path]:
    """The function module dirs a function's asset holds: its own, or every one for ``code="all"``."""
    if fn.code == "all":
        return sorted(p for p in FUNCTIONS_DIR.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    return [FUNCTIONS_DIR / fn.name]


def stage_function(fn: Function, stage_root: Path) -> Path:
    """``<stage_root>/functions/<name>``: Lambda's /var/task for ``fn`` (the ``functions`` package + its module(s))."""
    code_dir = stage_root / "functions" / fn.name
    shutil.rmtree(code_dir, ignore_errors=True)
    pkg = code_dir / "functions"
    pkg.mkdir(parents=True)
    init = FUNCTIONS_DIR / "__init__.py"
    if init.exists():
        shutil.copy2(init, pkg / "__init__.py")
    for src in function_dirs(fn):
        if src.is_dir():
            shutil.copytree(src, pkg / src.name, ignore=_IGNORE)
    from infra.assets import generated_files  # what the build adds (the API documents), made the same way

    for src, rel in generated_files(fn):
        shutil.copy2(src, code_dir / rel)
    return code_dir


def stage_shared_layer(stage_root: Path) -> Path:
    """``<stage_root>/shared-layer/python/bazaar``: the shared-code layer; returns the dir to put on sys.path."""
    python = stage_root / "shared-layer" / "python"
    shutil.rmtree(python.parent, ignore_errors=True)
    python.mkdir(parents=True)
    shutil.copytree(SHARED_DIR / "bazaar", python / "bazaar", ignore=_IGNORE)
    return python


# Pure Python, and the layer's copies differ from the venv's: botocore's data is trimmed (layers/sdk_data.py), urllib3
# is patched (layers/patches.py). The floor keeps the venv's, which stands in for the runtime's SDK.
SDK_PACKAGES = ("botocore", "urllib3")


def stage_sdk(stage_root: Path, layer_dir: Path = LAYER_DIR) -> Optional[Path]:
    """The dependency layer's AWS SDK and HTTP client (``SDK_PACKAGES``), with bytecode for this interpreter, to
    put behind the shared layer on a function's sys.path. None when the layer is not built."""
    if not all((layer_dir / "python" / name).is_dir() for name in SDK_PACKAGES):
        return None
    out = stage_root / "sdk" / "python"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.mkdir(parents=True)
    for name in SDK_PACKAGES:
        shutil.copytree(layer_dir / "python" / name, out / name, ignore=_IGNORE)
    compile_bytecode(out)
    return out


def site_packages() -> Path:
    """This interpreter's site-packages (the venv's under ``make bench``): stands in for the arm64 layer."""
    return Path(sysconfig.get_paths()["purelib"])


def layer_top_level_names(layer_python: Path) -> list[str]:
    return sorted(p.name for p in layer_python.iterdir()
                  if not p.name.endswith((".dist-info", ".egg-info")) and p.name not in ("bin", "__pycache__"))


def stage_nopyc_layer(stage_root: Path, layer_dir: Path = LAYER_DIR) -> tuple[Path, list[str]]:
    """A copy of this platform's installs of exactly the packages in the built layer, without bytecode.

    layers/build.sh installs with --no-compile and deletes __pycache__, and /opt is read-only on Lambda, so the
    deployed layer is compiled from source on every cold start. This stand-in (placed ahead of site-packages, with
    ``python -B``) reproduces that. Returns the dir and any layer entries this interpreter does not have.
    """
    out = stage_root / "deps-nopyc" / "python"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.mkdir(parents=True)
    missing = []
    sp = site_packages()
    for name in layer_top_level_names(layer_dir / "python"):
        src = layer_dir / "python" / name if name in SDK_PACKAGES else sp / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=_IGNORE)
        elif src.is_file():
            shutil.copy2(src, out / name)
        else:
            missing.append(name)
    return out, missing


def layer_version_mismatches(layer_dir: Path = LAYER_DIR) -> list[str]:
    """dist-info names in the layer that this interpreter's site-packages lacks (a different pinned version)."""
    here = {p.name.lower() for p in site_packages().glob("*.dist-info")}
    return sorted(p.name for p in (layer_dir / "python").glob("*.dist-info") if p.name.lower() not in here)


def python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def compile_bytecode(root: Path) -> None:
    """Bytecode for this interpreter, as the assets ship it for the runtime's (layers/bytecode.py): unchecked-hash
    .pyc files, so a cold start reads bytecode instead of compiling every module (the code dirs are read-only on
    Lambda, and children run with -B)."""
    import compileall

    compileall.compile_dir(str(root), quiet=1, workers=0,
                           invalidation_mode=__import__("py_compile").PycInvalidationMode.UNCHECKED_HASH)
