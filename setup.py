"""Package layout (metadata is in pyproject.toml).

The server is the ``ngshare`` package (its API clients in ``ngshare.clients``).
The top-level ``alembic/`` folder, the core's migration environment and
revisions, installs as ``ngshare.alembic``: it has no ``__init__.py`` of its
own, so a checkout on ``sys.path`` never shadows the ``alembic`` library. Each
bundled plugin lives in ``plugins/<name>/`` and installs as the package
``ngshare_<name>``, with its migrations, templates and static files.
"""

from pathlib import Path

from setuptools import find_packages, setup

BUNDLED_PLUGINS = [
    p.name for p in sorted(Path("plugins").iterdir()) if (p / "__init__.py").exists()
]

packages = find_packages(include=["ngshare", "ngshare.*"])
package_dir = {"ngshare.alembic": "alembic"}
packages += ["ngshare.alembic"] + [f"ngshare.alembic.{sub}" for sub in find_packages("alembic")]
for name in BUNDLED_PLUGINS:
    top = f"ngshare_{name}"
    package_dir[top] = f"plugins/{name}"
    packages.append(top)
    packages += [f"{top}.{sub}" for sub in find_packages(f"plugins/{name}")]

setup(packages=packages, package_dir=package_dir)
