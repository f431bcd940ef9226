"""Package layout (metadata is in pyproject.toml).

The core is the ``ngshare`` package; each bundled plugin lives in
``plugins/<name>/`` and installs as the package ``ngshare_<name>``, with its
migrations, templates and static files.
"""

from pathlib import Path

from setuptools import find_packages, setup

BUNDLED_PLUGINS = [
    p.name for p in sorted(Path("plugins").iterdir()) if (p / "__init__.py").exists()
]

packages = find_packages(include=["ngshare", "ngshare.*"])
package_dir = {}
for name in BUNDLED_PLUGINS:
    top = f"ngshare_{name}"
    package_dir[top] = f"plugins/{name}"
    packages.append(top)
    packages += [f"{top}.{sub}" for sub in find_packages(f"plugins/{name}")]

setup(packages=packages, package_dir=package_dir)
