import types

import memstrata


def test_all_lists_exactly_the_public_names() -> None:
    public = sorted(
        name
        for name, value in vars(memstrata).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )
    assert sorted(memstrata.__all__) == sorted([*public, "__version__"])


def test_errors_form_one_tree() -> None:
    for name in ("ConfigError", "InvalidInputError", "NotFoundError", "ProviderError", "StoreError"):
        assert issubclass(getattr(memstrata, name), memstrata.MemstrataError)
    assert issubclass(memstrata.InvalidInputError, ValueError)
    assert issubclass(memstrata.NotFoundError, KeyError)
