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
