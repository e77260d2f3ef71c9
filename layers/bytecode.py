"""Ships Python bytecode compiled by the Lambda runtime's own interpreter version.

Lambda's code and layer folders are read-only, so without shipped ``.pyc`` files every cold start compiles every
imported module again (2-2.7x slower imports, see ``make bench``). A ``.pyc`` is only used by the same minor
version that wrote it, hence the search for ``python<LAMBDA_PYTHON_VERSION>``; ``unchecked-hash`` pycs are used
without comparing timestamps (asset files get new mtimes when staged). Bytecode does not depend on the CPU
architecture. Without that interpreter nothing is compiled and the assets still work, only slower to start.

Usage: ``python -m layers.bytecode DIR [DIR ...]`` (stdlib only).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]


def lambda_python_version() -> str:
    text = (ROOT / "shared" / "bazaar" / "runtime.py").read_text()
    return text.split('LAMBDA_PYTHON_VERSION = "', 1)[1].split('"', 1)[0]


@lru_cache(maxsize=None)
def find_interpreter(version: Optional[str] = None) -> Optional[str]:
    version = version or lambda_python_version()
    found = shutil.which(f"python{version}")
    candidates = [found] if found else []
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}*/bin/python{version}"), reverse=True)
    for exe in candidates:
        try:
            out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return exe
    return None


def compile_tree(path: Path, interpreter: Optional[str] = None) -> bool:
    """Compile every .py under ``path`` for the Lambda runtime. False when no matching interpreter exists."""
    exe = interpreter or find_interpreter()
    if exe is None:
        return False
    subprocess.run([exe, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(path)],
                   check=True, stdout=subprocess.DEVNULL)
    return True


def main(argv: list[str]) -> int:
    exe = find_interpreter()
    if exe is None:
        print(f"bytecode: no python{lambda_python_version()} here; shipping sources only (slower cold starts)",
              file=sys.stderr)
        return 0
    for d in argv:
        compile_tree(Path(d), exe)
    print(f"bytecode: compiled {', '.join(argv)} with {exe}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
