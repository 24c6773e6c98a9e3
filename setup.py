"""Packaging details pyproject.toml cannot express: the top-level resources/ folder (the shipped
models' folders, digits and digits-chat, with their weights, configs, tokenizer, chat template and
cards; the samples; the icons) ships inside the package as ``mmstudio._resources``.

One mapping serves every install: a wheel copies resources/ into mmstudio/_resources, and an
editable install maps the same package name onto the checkout's resources/, so
``importlib.resources.files("mmstudio._resources")`` finds the data in both.
"""

from setuptools import find_namespace_packages, find_packages, setup

# resources/'s subfolders (models/digits, models/digits-chat, samples) are data, but setuptools sees any folder inside
# a package as a package of its own; naming them keeps it from warning that they would be dropped.
RESOURCE_FOLDERS = [
    f"mmstudio._resources.{name}" for name in find_namespace_packages(where="resources")
]

setup(
    packages=[
        *find_packages(include=["mmstudio", "mmstudio.*"]),
        "mmstudio._resources",
        *RESOURCE_FOLDERS,
    ],
    package_dir={"mmstudio._resources": "resources"},
    package_data={"mmstudio._resources": ["**/*"]},
    exclude_package_data={"mmstudio._resources": ["**/__pycache__/*", "**/*.pyc"]},
)
