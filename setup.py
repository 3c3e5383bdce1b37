"""Builds the sinter package's C extension with the project's CMake (the same
sources and flags as the CLI), so `pip install .` and `python -m build` need
only cmake, a C compiler and the system libraries scripts/setup.sh installs.
SINTER_BUILD_DIR reuses a build folder (default build-python/ in the repo)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = Path(os.environ.get("SINTER_BUILD_DIR", ROOT / "build-python")).resolve()
        # The interpreter behind pip's isolated build venv, which is deleted after
        # the build: a cached path into it would break the next configure of a
        # reused build folder.
        interpreter = os.path.realpath(sys.executable)
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DSINTER_PYTHON=ON", f"-DPython3_EXECUTABLE={interpreter}"],
                       check=True, stdout=subprocess.DEVNULL)
        jobs = str(os.cpu_count() or 2)
        subprocess.run(["cmake", "--build", str(build), "--target", "sinter_python", "-j", jobs],
                       check=True)
        built = next(build.glob("_sinter*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


# setuptools' own scratch folder, away from CMake's build/.
setup(ext_modules=[Extension("sinter._sinter", sources=[])], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": "build-setuptools"}})
