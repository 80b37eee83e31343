"""Map the four top-level folders onto the single import name `faceright`.

plugin/ is `faceright`, engine/ is `faceright.engine`, hosts/ is `faceright.hosts` and
validators/ is `faceright.validators` (DESIGN.md). Everything else lives in pyproject.toml.
"""
from setuptools import find_packages, setup

FOLDERS = {
    "faceright": "plugin",
    "faceright.engine": "engine",
    "faceright.hosts": "hosts",
    "faceright.validators": "validators",
}

packages = []
package_dir = {}
for package, folder in FOLDERS.items():
    package_dir[package] = folder
    packages.append(package)
    for sub in find_packages(folder):
        packages.append(f"{package}.{sub}")
        package_dir[f"{package}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir)
