"""The curated public API is pinned: adding or removing a name is a deliberate change."""

import levelhead


def test_top_level_all_is_pinned():
    assert sorted(levelhead.__all__) == sorted([
        "AuditSpec", "Completion", "LevelheadError", "Prompt", "RunReport", "Sample",
        "SpecError", "Turn", "Verdict", "__version__", "load_spec", "open_store", "run_audit",
        "spec_from_dict",
    ])
    for name in levelhead.__all__:
        assert getattr(levelhead, name) is not None


def test_every_public_name_is_documented():
    for name in levelhead.__all__:
        obj = getattr(levelhead, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name
