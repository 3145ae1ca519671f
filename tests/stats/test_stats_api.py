"""The public surface of levelhead.stats: pinned names, documented, and pure imports only."""

import ast
import dataclasses
import inspect
import json
import pathlib

import levelhead.stats as stats_package

PINNED = [
    "AdjustedFinding", "Agreement", "BinomialTest", "CivilityCurve", "ClusteredMean", "ClusteredRate",
    "ConditionSpread", "condition_spread",
    "EarlyLate", "HazardOnset", "early_late_hazard", "hazard_onset",
    "ForcedChoice",
    "Interval", "McNemarTest", "MirroredAsymmetry", "NonInferiority", "OrderCounts",
    "PairedDifference", "PromptCounts", "PromptTail", "Rate", "RateBound", "SamplePlan",
    "TurnRow", "WorstSample", "adjust_p_values", "binomial_test", "cluster_bootstrap_interval",
    "clustered_mean", "clustered_rate", "cohen_kappa", "count_by_prompt", "fleiss_kappa",
    "forced_choice", "mcnemar_exact",
    "mirrored_asymmetries", "mirrored_asymmetry", "non_inferiority", "p_at_least_one",
    "paired_difference", "prompt_tail", "rate", "rate_interval", "samples_for_interval_width",
    "samples_needed", "samples_to_detect_difference", "samples_to_show_below",
    "still_civil_curve", "tail_by_prompt", "upper_bound", "worst_of_n",
    # The release gate's decisions (issue 14: its statistics live here, not in report).
    "OneSidedBounds", "interval_violation_p", "one_sided_bounds", "samples_to_decide_bound",
    "samples_to_resolve", "samples_without_events", "violation_p_value",
    # Rates corrected for the judge's measured errors (issue 15).
    "CorrectedRate", "corrected_rate", "rogan_gladen",
    # Mirrored pairs one at a time, flagged after a multiplicity adjustment (issue 16).
    "PairAsymmetry", "flag_pair_asymmetries", "pair_asymmetry",
    # A judge's agreement with people on a stratified spot check (issue 17).
    "DesignAgreement", "DesignEstimate", "design_agreement", "weighted_label_counts",
    # Live rates watched against a baseline, always-valid; many slices under BH (issue 19).
    "RateWatch", "RateWatchStream", "SliceAlarm", "flag_slices", "watch_rate", "watch_rate_stream",
    "CusumPlan", "CusumStream", "bernoulli_cusum", "cusum_plan",
]
ALLOWED_IMPORTS = {"numpy", "scipy", "statsmodels", "levelhead"}
PACKAGE_DIR = pathlib.Path(stats_package.__file__).parent


def test_all_is_pinned():
    assert sorted(stats_package.__all__) == sorted(PINNED)
    for name in PINNED:
        assert hasattr(stats_package, name)


def test_every_public_name_has_a_docstring():
    for name in PINNED:
        obj = getattr(stats_package, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_results_are_frozen_slotted_dataclasses():
    for name in PINNED:
        obj = getattr(stats_package, name)
        if inspect.isclass(obj):
            assert dataclasses.is_dataclass(obj), name
            assert obj.__dataclass_params__.frozen, name
            assert "__slots__" in obj.__dict__, name
            assert callable(obj.to_dict), name


def test_package_imports_only_numpy_scipy_statsmodels_and_itself():
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
                if roots == ["levelhead"]:
                    assert node.module.startswith("levelhead.stats"), (path.name, node.module)
            else:
                continue
            stdlib = {"__future__", "collections", "dataclasses", "inspect", "math", "typing"}
            for root in roots:
                assert root in ALLOWED_IMPORTS | stdlib, (path.name, root)


def test_private_modules_stay_small():
    for path in PACKAGE_DIR.glob("_*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name


def test_to_dict_of_a_nested_result_is_json():
    result = stats_package.clustered_rate([1, 2, 0], [5, 5, 5], bootstrap_reps=200, seed=3)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["bootstrap_interval"]["method"].startswith("cluster bootstrap")
    assert payload["prompts"] == 3
