"""Errors are declared in each module's exceptions.py (and the kernel's config.errors) only: a
newcomer looking for what a module may answer reads one file."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from config.errors import ApplicationError
from tests.helpers import project_packages

MODULES = project_packages()
SKIPPED = ("migrations", "management", "settings")


def _import_everything() -> None:
    for name in MODULES:
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # a module not built yet
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not any(part in SKIPPED for part in info.name.split(".")):
                importlib.import_module(info.name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_application_error_is_declared_in_an_exceptions_module():
    # given every module of the project imported
    _import_everything()
    # then each error class lives in an exceptions module, or in the kernel's config.errors
    misplaced = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in set(_subclasses(ApplicationError))
        if cls.__module__.split(".")[0] in MODULES
        and cls.__module__ != "config.errors"
        and not cls.__module__.endswith(".exceptions")
    )
    assert misplaced == []
