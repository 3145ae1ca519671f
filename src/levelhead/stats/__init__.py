"""Statistics: turn verdict tables into honest findings with their uncertainty.

Rates with intervals (also clustered by prompt), rates corrected for the judge's measured
errors, the tail, paired comparisons of two targets, forced-choice shares, mirrored-pair
asymmetry (pooled, and pair by pair with a multiplicity-adjusted flag), multi-turn hazard,
a judge's agreement with people on a stratified spot check (weighted back to the run),
sample-size plans, the one-sided decisions a release gate makes (bounds, violation
p-values, samples to decide), and live rates watched over time against a baseline with
always-valid alarms (mSPRT; a CUSUM for the quickest alarm), many slices at once under a
false-discovery rate. Every function is pure (no I/O, no printing); every finding carries
the errors and missing verdicts the caller counted, and the arithmetic uses judged samples
only. Methods are described in docs/statistics.md. May import numpy, scipy and statsmodels
only (never store, cli or targets).
"""

from levelhead.stats._agreement import Agreement, cohen_kappa, fleiss_kappa
from levelhead.stats._choice import ForcedChoice, OrderCounts, forced_choice
from levelhead.stats._clustered import ClusteredRate, cluster_bootstrap_interval, clustered_rate
from levelhead.stats._cusum import CusumPlan, CusumStream, bernoulli_cusum, cusum_plan
from levelhead.stats._decisions import (
    OneSidedBounds,
    interval_violation_p,
    one_sided_bounds,
    samples_to_decide_bound,
    samples_to_resolve,
    samples_without_events,
    violation_p_value,
)
from levelhead.stats._design_agreement import (
    DesignAgreement,
    DesignEstimate,
    design_agreement,
    weighted_label_counts,
)
from levelhead.stats._means import ClusteredMean, clustered_mean
from levelhead.stats._mirrored import MirroredAsymmetry, mirrored_asymmetries, mirrored_asymmetry
from levelhead.stats._misclass import CorrectedRate, corrected_rate, rogan_gladen
from levelhead.stats._multiplicity import AdjustedFinding, adjust_p_values
from levelhead.stats._onset import EarlyLate, HazardOnset, early_late_hazard, hazard_onset
from levelhead.stats._pair_asymmetry import PairAsymmetry, flag_pair_asymmetries, pair_asymmetry
from levelhead.stats._paired import (
    McNemarTest,
    NonInferiority,
    PairedDifference,
    mcnemar_exact,
    non_inferiority,
    paired_difference,
)
from levelhead.stats._plans import (
    SamplePlan,
    samples_for_interval_width,
    samples_needed,
    samples_to_detect_difference,
    samples_to_show_below,
)
from levelhead.stats._rates import BinomialTest, Rate, binomial_test, rate, rate_interval
from levelhead.stats._results import Interval
from levelhead.stats._sequential import RateWatch, RateWatchStream, watch_rate, watch_rate_stream
from levelhead.stats._slices import SliceAlarm, flag_slices
from levelhead.stats._spread import ConditionSpread, condition_spread
from levelhead.stats._survival import CivilityCurve, TurnRow, still_civil_curve
from levelhead.stats._tails import (
    PromptTail,
    RateBound,
    WorstSample,
    p_at_least_one,
    prompt_tail,
    tail_by_prompt,
    upper_bound,
    worst_of_n,
)
from levelhead.stats._verdicts import PromptCounts, count_by_prompt

__all__ = [
    "AdjustedFinding",
    "Agreement",
    "BinomialTest",
    "CivilityCurve",
    "ClusteredMean",
    "ConditionSpread",
    "ClusteredRate",
    "CorrectedRate",
    "CusumPlan",
    "CusumStream",
    "DesignAgreement",
    "DesignEstimate",
    "EarlyLate",
    "ForcedChoice",
    "HazardOnset",
    "Interval",
    "McNemarTest",
    "MirroredAsymmetry",
    "NonInferiority",
    "OneSidedBounds",
    "OrderCounts",
    "PairAsymmetry",
    "PairedDifference",
    "PromptCounts",
    "PromptTail",
    "Rate",
    "RateBound",
    "RateWatch",
    "RateWatchStream",
    "SamplePlan",
    "SliceAlarm",
    "TurnRow",
    "WorstSample",
    "adjust_p_values",
    "bernoulli_cusum",
    "binomial_test",
    "cluster_bootstrap_interval",
    "clustered_mean",
    "clustered_rate",
    "cohen_kappa",
    "condition_spread",
    "corrected_rate",
    "count_by_prompt",
    "cusum_plan",
    "design_agreement",
    "early_late_hazard",
    "flag_pair_asymmetries",
    "flag_slices",
    "fleiss_kappa",
    "forced_choice",
    "hazard_onset",
    "interval_violation_p",
    "mcnemar_exact",
    "mirrored_asymmetries",
    "mirrored_asymmetry",
    "non_inferiority",
    "one_sided_bounds",
    "p_at_least_one",
    "pair_asymmetry",
    "paired_difference",
    "prompt_tail",
    "rate",
    "rate_interval",
    "rogan_gladen",
    "samples_for_interval_width",
    "samples_to_decide_bound",
    "samples_needed",
    "samples_to_detect_difference",
    "samples_to_resolve",
    "samples_to_show_below",
    "samples_without_events",
    "still_civil_curve",
    "tail_by_prompt",
    "upper_bound",
    "violation_p_value",
    "watch_rate",
    "watch_rate_stream",
    "weighted_label_counts",
    "worst_of_n",
]
