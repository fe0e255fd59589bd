"""Maps the top-level source folders onto the ``mindframe`` namespace.

The repository keeps ``kernel/``, ``sdk/`` and ``sandbox/`` at its root for readability;
installed, they are ``mindframe.kernel``, ``mindframe.sdk`` and ``mindframe.sandbox``. The
built-in plugins and locales ship as data under ``mindframe/plugins`` and
``mindframe/locales`` so a regular install finds them beside the kernel, as a checkout does.
"""

from setuptools import find_packages, setup

ROOTS = ("kernel", "sdk", "sandbox")

packages = [f"mindframe.{name}" for name in find_packages(include=[f"{root}*" for root in ROOTS])]
package_dir = {f"mindframe.{root}": root for root in ROOTS}

setup(
    packages=[*packages, "mindframe.plugins", "mindframe.locales"],
    package_dir={**package_dir, "mindframe.plugins": "plugins", "mindframe.locales": "locales"},
    package_data={
        "mindframe.plugins": ["**/*"],
        "mindframe.locales": ["**/*"],
        "mindframe.kernel.scaffold": ["templates/**/*"],
    },
    exclude_package_data={"mindframe.plugins": ["**/__pycache__/*"]},
)
