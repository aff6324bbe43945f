import types

import outcrop


def test_all_lists_exactly_the_public_names() -> None:
    public = sorted(
        name
        for name, value in vars(outcrop).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert sorted(outcrop.__all__) == sorted([*public, "__version__"])


def test_errors_form_one_tree() -> None:
    for name in ("ConfigError", "InvalidInputError", "NotFoundError", "ProviderError", "StoreError"):
        assert issubclass(getattr(outcrop, name), outcrop.OutcropError)
    assert issubclass(outcrop.InvalidInputError, ValueError)
    assert issubclass(outcrop.NotFoundError, KeyError)


def _classes(annotation: object) -> list[type]:
    """Every class an annotation names, through unions, generics and aliases."""
    import typing

    found: list[type] = []
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and origin is None:
        found.append(annotation)
    if origin is not None and isinstance(origin, type):
        found.append(origin)
    for arg in typing.get_args(annotation):
        found.extend(_classes(arg))
    return found


def test_every_type_a_memory_method_returns_is_importable_from_the_package() -> None:
    import builtins
    import collections.abc
    import contextlib
    import inspect
    import typing

    public = {getattr(outcrop, name) for name in outcrop.__all__ if isinstance(getattr(outcrop, name), type)}
    for name, method in inspect.getmembers(outcrop.Memory, inspect.isfunction):
        if name.startswith("_"):
            continue
        returned = typing.get_type_hints(method)["return"]
        for cls in _classes(returned):
            assert cls in public or cls.__module__ in (
                builtins.__name__,
                collections.abc.__name__,
                contextlib.__name__,
            ), f"Memory.{name} returns {cls.__module__}.{cls.__qualname__}, not importable from outcrop"


def test_memory_parameters_name_their_types() -> None:
    """No parameter of a public method is typed ``Any`` (values inside JSON objects may be)."""
    import inspect
    import typing

    for name, method in inspect.getmembers(outcrop.Memory, inspect.isfunction):
        if name.startswith("_"):
            continue
        for parameter, annotation in typing.get_type_hints(method).items():
            assert annotation is not typing.Any, f"Memory.{name}({parameter}) is typed Any"
            assert typing.Any not in typing.get_args(annotation), f"Memory.{name}({parameter}) admits Any"
