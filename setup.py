"""Build the optional C kernel grokkit._fused (the rest of the package is in pyproject.toml).

Without a C compiler the build of the kernel is skipped (optional=True) and grokkit trains
with its pure-torch path: same mathematics, slower, rounded differently (docs/instructors.md,
"The C kernel"). The kernel picks its vector width when it loads (grokkit/_fused.c).
"""
import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    flags, link = ["/O2"], []  # MSVC lacks GCC's vector extensions: the build fails there and is skipped
else:
    flags, link = ["-O3", "-fno-math-errno", "-Wno-psabi", "-pthread"], ["-pthread"]  # the helper thread

setup(ext_modules=[Extension("grokkit._fused", ["grokkit/_fused.c"], extra_compile_args=flags,
                              extra_link_args=link, optional=True)])
