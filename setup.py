"""Maps the top-level source folders onto the ``mindframe`` namespace.

The repository keeps ``kernel/``, ``sdk/`` and ``sandbox/`` at its root for readability;
installed, they are ``mindframe.kernel``, ``mindframe.sdk`` and ``mindframe.sandbox``. The
built-in plugins and locales ship as data under ``mindframe/plugins`` and
``mindframe/locales`` so a regular install finds them beside the kernel, as a checkout does.
"""

from setuptools import find_namespace_packages, find_packages, setup

ROOTS = ("kernel", "sdk", "sandbox")
DATA_ROOTS = ("plugins", "locales")

packages = [f"mindframe.{name}" for name in find_packages(include=[f"{root}*" for root in ROOTS])]
# Every folder that holds data (plugins, catalogs, the scaffold's templates) is listed as a
# namespace package, so setuptools ships it as it is instead of warning, folder by folder,
# that it "would be ignored".
DATA_FOLDERS = {"kernel.scaffold": "kernel/scaffold", "plugins": "plugins", "locales": "locales"}
data_packages = [
    f"mindframe.{package}.{name}"
    for package, folder in DATA_FOLDERS.items()
    for name in find_namespace_packages(folder, exclude=["*__pycache__*"])
]
package_dir = {f"mindframe.{root}": root for root in (*ROOTS, *DATA_ROOTS)}

setup(
    packages=[*packages, *(f"mindframe.{root}" for root in DATA_ROOTS), *data_packages],
    package_dir=package_dir,
    package_data={
        "mindframe.plugins": ["**/*"],
        "mindframe.locales": ["**/*"],
        "mindframe.kernel.scaffold": ["templates/**/*"],
    },
    exclude_package_data={"mindframe.plugins": ["**/__pycache__/*"]},
)
