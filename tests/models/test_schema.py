"""Rules the ORM's schema generation needs from our models."""

import importlib
import inspect

from tortoise.models import Model

from models import MODEL_MODULES


def test_model_docstrings_have_no_semicolons() -> None:
    """A model's docstring becomes its table comment, and a ';' there splits the SQLite migration script."""
    offenders = [
        f"{module}.{name}"
        for module in MODEL_MODULES
        for name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, Model) and cls.__module__ == module and ";" in (cls.__doc__ or "")
    ]
    assert offenders == []
