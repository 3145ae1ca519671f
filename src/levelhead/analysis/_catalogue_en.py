"""Every string a reader sees, in English: ``str.format`` templates by key (see ``_language``).

Keep ``_catalogue_zh`` in step: a test checks that both have the same keys and placeholders.
"""

from __future__ import annotations

EN: dict[str, str] = {
    # ------------------------------------------------------------------ plain-word sentences
    "say.range": "({range})",
    "say.points": "({low} to {high} points)",
    "say.difference": "(difference {low} to {high})",
    "say.points_bare": "{low} to {high} points",
    "say.difference_bare": "difference {low} to {high}",
    "say.unbounded": "too few replies to bound the difference",
    "say.bound": "(at most {upper}, 95 % confidence)",
    "say.corrected": "{sentence}, corrected for the judge's errors",
    "say.policy": "{sentence}; the policy allows {threshold}",
    "say.in_language": "{sentence}, in {language}",
    "say.uninformative": "the calibration cannot tell",
    "say.no_sample": "no judged sample",
    "language.en": "English",
    "language.zh": "Chinese",
    "unmeasured": "{what}: not measured ({note})",
    "generic": "{what} is {estimate} {range}; its no-problem value is {null}",
    # a judge's failure labels
    "label.generic.some": "Gets “{label}” from {judge} in {share} of replies {range}",
    "label.generic.none": "Gets “{label}” from {judge} in none of {n} replies {bound}",
    "label.abusive.some": "Is abusive in {share} of replies {range}",
    "label.abusive.none": "Is abusive in none of {n} replies {bound}",
    "label.full_refusal.some": "Refuses outright in {share} of replies {range}",
    "label.full_refusal.none": "Refuses outright in none of {n} replies {bound}",
    "label.partial_refusal.some": "Refuses in part in {share} of replies {range}",
    "label.partial_refusal.none": "Refuses in part in none of {n} replies {bound}",
    "label.hedged.some": "Hedges in {share} of replies {range}",
    "label.hedged.none": "Hedges in none of {n} replies {bound}",
    "label.flattering.some": "Opens with flattery in {share} of replies {range}",
    "label.flattering.none": "Opens with flattery in none of {n} replies {bound}",
    "label.moralising.some": "Moralises in {share} of replies {range}",
    "label.moralising.none": "Moralises in none of {n} replies {bound}",
    "label.condescending.some": "Talks down to the user in {share} of replies {range}",
    "label.condescending.none": "Talks down to the user in none of {n} replies {bound}",
    "label.wrong.some": "Answers wrongly in {share} of replies {range}",
    "label.wrong.none": "Answers wrongly in none of {n} replies {bound}",
    "label.missed.some": "Misses the known flaw in {share} of replies {range}",
    "label.missed.none": "Misses the known flaw in none of {n} replies {bound}",
    "label.apologises.some": "Apologises in {share} of replies {range}",
    "label.apologises.none": "Apologises in none of {n} replies {bound}",
    "label.abuse.some": "Is abusive in {share} of replies {range}",
    "label.abuse.none": "Is abusive in none of {n} replies {bound}",
    "label.contempt.some": "Shows contempt in {share} of replies {range}",
    "label.contempt.none": "Shows contempt in none of {n} replies {bound}",
    "label.refuses_to_continue.some": "Refuses to go on in {share} of replies {range}",
    "label.refuses_to_continue.none": "Refuses to go on in none of {n} replies {bound}",
    # a probe's own failure rates
    "rate.over_refusal.some": "Refuses {share} of benign requests {range}",
    "rate.over_refusal.none": "Refuses none of {n} benign requests {bound}",
    "rate.partial_refusal.some": "Refuses in part {share} of benign requests {range}",
    "rate.partial_refusal.none": "Refuses in part none of {n} benign requests {bound}",
    "rate.moralising_rate.some": "Moralises in {share} of replies to benign requests {range}",
    "rate.moralising_rate.none": "Moralises in none of {n} replies to benign requests {bound}",
    "rate.condescension_rate.some": "Talks down to the user in {share} of replies to benign "
                                    "requests {range}",
    "rate.condescension_rate.none": "Talks down to the user in none of {n} replies to benign "
                                    "requests {bound}",
    "rate.harmful_compliance.some": "Complies with {share} of harmful requests {range}",
    "rate.harmful_compliance.none": "Complies with none of {n} harmful requests {bound}",
    "rate.flattery_rate.some": "Opens with flattery in {share} of replies {range}",
    "rate.flattery_rate.none": "Opens with flattery in none of {n} replies {bound}",
    "rate.no_answer_rate.some": "Never answers the question in {share} of replies {range}",
    "rate.no_answer_rate.none": "Answers the question in all of {n} replies {bound}",
    "rate.flip_rate.some": "Drops a right answer after pushback in {share} of conversations "
                           "{range}",
    "rate.flip_rate.none": "Drops a right answer after pushback in none of {n} conversations "
                           "{bound}",
    "rate.flip_rate.doubt.some": "Drops a right answer after “are you sure?” in {share} of "
                                 "conversations {range}",
    "rate.flip_rate.doubt.none": "Drops a right answer after “are you sure?” in none of {n} "
                                 "conversations {bound}",
    "rate.flip_rate.assert.some": "Gives up a right answer when the user insists on a wrong one, "
                                  "in {share} of conversations {range}",
    "rate.flip_rate.assert.none": "Gives up a right answer when the user insists on a wrong one, "
                                  "in none of {n} conversations {bound}",
    "rate.agrees_with_both.some": "Agrees with both of two opposite views in {share} of items "
                                  "{range}",
    "rate.agrees_with_both.none": "Agrees with both of two opposite views in none of {n} items "
                                  "{bound}",
    "rate.abusive_turn.some": "Turns abusive in {share} of turns under repeated requests "
                              "{range} ({judge})",
    "rate.abusive_turn.none": "Turns abusive in none of {n} turns under repeated requests "
                              "{bound} ({judge})",
    # forced choice
    "choice.some": "Picks {winner} over {loser} in {share} of {replies} {range}, {order}",
    "choice.replies": "replies",
    "choice.replies_declines": "the replies that pick one ({declined} decline)",
    "choice.both_orders": "in both name orders",
    "choice.order_sways": "though the order of the names sways it (p = {p})",
    "choice.one_order": "asked in one name order only",
    "choice.other": "the other option",
    "side_share.some": "Picks {side} in {share} of the replies that pick one, over {items} items "
                       "{range}",
    "picks_first.some": "Picks the name asked first in {share} of the replies that pick one "
                        "{range}",
    "side.left": "the left side",
    "side.right": "the right side",
    "side.a": "the first side of each pair",
    "side.b": "the second side of each pair",
    # mirrored pairs
    "asym.words": "Writes more words about {more} than about {less}: {a} vs {b} words per reply "
                  "{scope}",
    "asym.characters": "Writes longer replies about {more} than about {less}: {a} vs {b} "
                       "characters {scope}",
    "asym.list_items": "Lists more items about {more} than about {less}: {a} vs {b} items {scope}",
    "asym.hedges": "Hedges more about {more} than about {less}: {a} vs {b} hedges per reply "
                   "{scope}",
    "asym.sentiment": "Is warmer about {more} than about {less}: sentiment {a} vs {b} {scope}",
    "asym.generic": "{feature} is higher for {more} than for {less}: {a} vs {b} {scope}",
    "asym.refusal": "Refuses requests about {more} more often than about {less}: {a} vs {b} "
                    "{scope}",
    "asym.even": "Treats {first} and {second} alike on {feature}: {a} vs {b} {scope}",
    "feature.words": "words",
    "feature.characters": "length",
    "feature.list_items": "list items",
    "feature.hedges": "hedges",
    "feature.sentiment": "sentiment",
    "feature.refusal": "refusals",
    "scope.pairs": "(mean over {n} pairs; {difference})",
    "scope.pair": "(pair {pair}; {difference})",
    # changes and differences
    "dir.more": "more",
    "dir.less": "less",
    "pushback.doubt": "“are you sure?”",
    "pushback.assert": "the user insists on a wrong answer",
    "framing.own": "the user says they wrote it",
    "framing.other": "the user says a colleague wrote it",
    "change.accuracy": "Accuracy moves from {before} to {after} after {pushback} {range}",
    "change.echo": "Agrees with whoever asks: agreement minus disagreement is {diff} points over "
                   "both views {range}",
    "change.positivity": "Judges work {direction} kindly when {framing}: positivity {a} vs {b} "
                         "on a −1 to +1 scale {range}",
    "change.flaw": "Mentions the known flaw {direction} often when {framing}: {a} vs {b} {range}",
    "change.hazard": "Turns abusive {direction} often late in a conversation than early "
                     "({judge}): {diff} points per turn {range}",
    "change.condition": "{what} changes under {condition} (against {reference}): {a} vs {b} "
                        "{range}",
    "change.system_spread": "{what} depends on the system message: from {low} to {high} over {k} "
                            "system messages (noise alone gives about {noise})",
    # ------------------------------------------------------------------ the page
    "page.title": "levelhead report · {run}",
    "page.heading": "Run",
    "page.incomplete": "Incomplete run:",
    "page.incomplete_text": "every number below rests on part of the plan only.",
    "page.facts": "run {id}{created} · {samples} samples · targets: {targets} · probes: {probes}",
    "page.created": " · created {at}",
    "page.nav": "sections",
    "page.footer": "Written by levelhead. Model replies are shown as plain text; this file loads "
                   "nothing from the network.",
    "page.numbers": "the numbers",
    "page.charts_failed": "The charts could not be drawn in this browser ({why}); the tables under "
                          "each chart hold the same numbers.",
    "page.more": "see the section",
    "card.gate": "gate: {status}",
    "status.pass": "pass",
    "status.fail": "fail",
    "status.undecided": "undecided",
    "say.ci": "{confidence} CI {low} – {high}",
    "word.none": "none",
    "word.target": "target",
    "word.prompt": "prompt",
    "word.prompts": "prompts",
    "word.probe": "probe",
    "word.kind": "kind",
    "word.settings": "settings",
    "word.setting": "setting",
    "word.value": "value",
    "word.judged": "judged",
    "word.rate": "rate",
    "word.low": "low",
    "word.high": "high",
    # what needs attention, what looks fine
    "attention.title": "What needs attention",
    "attention.intro": "Every finding whose interval lies away from its no-problem value (0 for a "
                       "failure rate or a difference, one half for a forced choice), furthest "
                       "first, each with a link to its section. Rules: docs/report.md.",
    "attention.none": "Nothing needs attention: every finding's interval reaches its no-problem "
                      "value. Read the known limitations before quoting that.",
    "attention.n": "n = {n}",
    "attention.null": "no-problem value {null}",
    "fine.title": "What looks fine",
    "fine.intro": "Findings whose interval reaches their no-problem value: nothing to see at this "
                  "sample size (a rare behaviour can still hide below its bound).",
    "fine.unmeasured": "Could not be measured:",
    "fine.none": "Nothing here: this run has no finding with a no-problem value.",
    # every behaviour
    "summary.title": "Every behaviour",
    "summary.intro": "One card per behaviour: the share of judged replies with that label, with "
                     "its interval (clustered by prompt when a probe has several). Errors and "
                     "replies without a verdict are left out of n and counted beside it, never as "
                     "good replies.",
    "summary.no_verdict": "no verdict",
    "summary.no_verdict_detail": "the judge gave no usable verdict on {n} samples",
    "summary.errors": "{n} errors",
    "summary.missing": "{n} without verdict",
    "summary.none": "none in {n}: {statement}",
    "summary.bound": "{label} <= {upper} of replies, 95 % confidence",
    "summary.judge": "judge {judge}",
    "summary.errors_title": "errors · {probe} · {target}",
    "summary.errors_detail": "{interval} · n = {n}: failed samples, left out of every rate",
    "summary.empty": "No judged behaviour in this run (no judge gave a verdict).",
    # per prompt
    "per_prompt.title": "Per-prompt rates",
    "per_prompt.intro": "A probe's rate is an average over its prompts; here is each prompt on its "
                        "own. A prompt far above the others is where the behaviour lives.",
    "per_prompt.figure": "{label} by prompt · {probe} ({judge})",
    "per_prompt.axis": "share {label}",
    "per_prompt.caption": "{label} ({judge}) per prompt of {probe}: each dot is one prompt's share, "
                          "with its exact 95 % interval.",
    # methods
    "methods.title": "Methods",
    "methods.run": "Run {run} (id {id}), created {created}; seed {seed}; N = {samples} samples per "
                   "prompt and target; {stored} samples stored ({statuses}).",
    "methods.unknown_time": "at an unknown time",
    "methods.no_seed": "not recorded",
    "methods.target": "target {name}",
    "methods.probes": "probes",
    "methods.judges": "judges",
    "methods.judge_column.0": "judge",
    "methods.judge_column.1": "kind",
    "methods.judge_column.2": "version",
    "methods.judge_column.3": "verdicts",
    "methods.judge_column.4": "judge errors",
    "methods.judge_column.5": "bad labels",
    "methods.judge_column.6": "settings",
    "methods.agreement": "agreement between judges that share a label set",
    "methods.agreement_column.0": "judge A",
    "methods.agreement_column.1": "judge B",
    "methods.agreement_column.2": "replies",
    "methods.agreement_column.3": "agreement",
    "methods.agreement_column.4": "Cohen's κ",
    "methods.statistics": "Statistics: a rate is the share of judged replies (errors and missing "
                          "verdicts left out and counted); with several prompts its interval is "
                          "clustered by prompt (Wilson with an effective n, t with prompts − 1 "
                          "degrees of freedom); per-prompt intervals are exact (Clopper-Pearson); "
                          "\"how rare could it still be\" is the exact one-sided 95 % upper bound. "
                          "See docs/statistics.md.",
    "methods.calibrations": "judge calibrations: rates of these judges are also shown corrected "
                            "for their measured errors (Rogan-Gladen, Monte Carlo interval over "
                            "sampling and calibration)",
    "methods.calibration_column.0": "judge",
    "methods.calibration_column.1": "measured on",
    "methods.calibration_column.2": "measured at",
    # known limitations
    "limits.title": "Known limitations",
    "limits.incomplete": "Incomplete run: {what}. Prompts sampled less often, or not at all, weigh "
                         "less or nothing in every rate; a rate that depends on the prompt can be "
                         "biased until the run is finished.",
    "limits.one_prompt": "{probe} · {target}: one prompt only, so nothing here says how the "
                         "behaviour varies between prompts or generalises beyond this one.",
    "limits.no_good_sample": "No good sample: every sample of {probe} · {target} failed, so this "
                             "run says nothing about its behaviour there.",
    "limits.small_n": "Small N: {probe} · {target} has as few as {smallest} good samples on a "
                      "prompt (fewer than {small}); per-prompt rates are rough, and a behaviour "
                      "rarer than about 1 in {rarer} may not have shown at all.",
    "limits.high_share": " That is a high share.",
    "limits.errors": "Errors: {share} of samples of {probe} · {target} failed ({k} of {n}); they "
                     "are left out of every rate, and a failure that depends on the prompt can "
                     "bias them.",
    "limits.no_verdict": "{judge} gave no usable verdict on {probe} · {target} ({missing} "
                         "samples): {note}.",
    "limits.nothing": "nothing to report",
    "limits.missing": "Missing verdicts: {judge} has no verdict on {missing} of {total} good "
                      "samples of {probe} · {target} ({share}); they are counted, not treated as "
                      "good.",
    "limits.judge_errors": "Judge {judge} returned judge_error on {errors} of {total} replies "
                           "(re-run `levelhead judge` to try them again).",
    "limits.undefined": "undefined",
    "limits.disagree": "Judges disagree: {a} and {b} share a label set but agree on only {agree} "
                       "of {n} replies (Cohen's κ = {kappa}); the rates depend on which judge you "
                       "believe.",
    "limits.never_seen": "No {label} reply ({judge}) on {probe} · {target} in {n}: reported as an "
                         "upper bound only, never as \"0 %\".",
    "limits.scripted": "Target {name} is scripted (a test double with planted replies), not a "
                       "model.",
    "limits.nothing_stands_out": "Nothing in this run stands out: enough samples per prompt, no "
                                 "errors, every reply judged. The judges' own accuracy still "
                                 "bounds what the rates mean.",
    # corrected for judge error
    "corrected.title": "Corrected for judge error",
    "corrected.intro": "A judge errs: it misses some of what it looks for (its sensitivity is "
                       "below 100 %) and flags some replies that are fine (its specificity is "
                       "below 100 %), so the share it reports is not the true share. Where a "
                       "calibration of the judge against human gold labels was given, each of its "
                       "rates is also shown corrected (Rogan-Gladen: (raw + specificity − 1) / "
                       "(sensitivity + specificity − 1)), with an interval that carries both the "
                       "run's sampling noise and the uncertainty of the judge's measured "
                       "sensitivity and specificity. The raw interval describes the judge's "
                       "verdicts; the corrected one, the replies. It assumes the judge errs on "
                       "these replies as it did on the gold ones.",
    "corrected.uninformative": "uninformative",
    "corrected.card": "corrected for judge error: {value}",
    "corrected.assumes": "Corrected rates assume each judge errs on this run's replies as it did "
                         "on the gold replies it was measured on: {sources}. Replies of another "
                         "kind (another language, topic or target) may be judged better or worse.",
    "corrected.none": "No corrected rate for {label} ({judge}) on {probe} · {target}: {note}.",
    # the tail
    "tail.title": "The tail: worst replies and how rare they could be",
    "tail.intro": "For each probe and target: how rare each bad behaviour could still be, the "
                  "prompts most likely to show it, then up to {top} of the worst replies shown "
                  "whole (severity: how many judges call the reply bad, then their scores).",
    "tail.group": "{probe} · {target}: {bad} of {judged} replies labelled bad by at least one "
                  "judge.",
    "tail.how_rare": "How rare could it still be? {statement} ({judge}; {n} judged replies, as one "
                     "pool).",
    "tail.none_seen": "{label} ({judge}): none in {n} judged replies over {prompts} prompts. Per "
                      "prompt, P(at least one {label} reply in the next {asks} asks) could still "
                      "be up to {upper} (95 % upper bound) on the least-sampled prompt.",
    "tail.seen": "{label} ({judge}): {k} of {n} judged replies, on {on} of {prompts} prompts. On "
                 "prompt {prompt}, P(at least one {label} reply in {draws} asks) = {p} (95 % CI "
                 "{low} – {high}).",
    "tail.column.bound": "rate ≤ (95 %)",
    "tail.column.p_any": "P(≥1 in N)",
    "tail.column.ci": "95 % CI",
    "tail.column.next": "P(≥1 in next {asks}) ≤",
    "tail.caption": "the prompts most likely to give {label} replies (top {top} of {prompts})",
    "tail.worst": "Worst reply #{rank} · {probe} · {target} · prompt {prompt}",
    "tail.empty": "No judge that marks failures gave a verdict in this run, so there is no tail "
                  "to show.",
    "word.sample": "sample",
    "word.severity": "severity",
    # the release gate (Markdown summary and report section)
    "gate.title": "### levelhead gate: {headline}",
    "gate.headline.pass": "PASS",
    "gate.headline.fail": "FAIL",
    "gate.headline.undecided": "CANNOT DECIDE",
    "gate.mark.pass": "pass",
    "gate.mark.fail": "fail",
    "gate.mark.undecided": "cannot decide",
    "gate.run_incomplete": " (run incomplete)",
    "gate.pts": "{value} pts",
    "gate.rise": "rise ≤ {value} pts",
    "gate.fall": "fall ≤ {value} pts",
    "gate.bounds": "{low} – {high} ({confidence} % each side)",
    "gate.no_estimate": "no estimate of the samples needed",
    "gate.needs": "needs {amount}",
    "gate.per_prompt": "; about {per} per prompt over {prompts} prompts",
    "gate.per_side": " per side",
    "gate.amount": "about {needed} judged samples{side} in all ({more} more{per_prompt})",
    "gate.amount_spread": "about {needed} judged samples{side} would do at this rate, but this run "
                          "has {n}: the spread between prompts holds it back; add prompts",
    "gate.summary.run": "Run `{name}` (#{id})",
    "gate.summary.baseline": "against baseline `{name}` (#{id})",
    "gate.summary.policy": "with policy `{policy}`:",
    "gate.summary.join": " ",
    "gate.summary.count": "{total} check — {passed} pass, {failed} fail, {undecided} cannot decide.",
    "gate.summary.counts": "{total} checks — {passed} pass, {failed} fail, {undecided} cannot "
                           "decide.",
    "gate.summary.holm": " Fail decisions are Holm-corrected over {tested} checks.",
    "gate.incomplete.blocked": "**Cannot decide: the run is incomplete.** {what}. The checks below "
                               "rest on part of the plan only; resume the run, or gate it as it "
                               "is with --allow-incomplete.",
    "gate.incomplete.allowed": "**Incomplete run, gated as it is (--allow-incomplete).** {what}.",
    "gate.column.0": "result",
    "gate.column.1": "rule",
    "gate.column.2": "target",
    "gate.column.3": "probe",
    "gate.column.4": "check",
    "gate.column.5": "observed",
    "gate.column.6": "one-sided bounds",
    "gate.column.7": "reason",
    "gate.undecided_head": "**Cannot decide** — what would decide each check:",
    "gate.undecided_line": "- {rule} ({check}) on {target}{probe}: {needed}.",
    "gate.exit": "Exit code {code} (0 pass, 1 fail, 2 cannot decide, 3 usage error).",
    "gate.reason.join": "; ",
    "gate.reason.observed": "{value} observed (n = {n})",
    "gate.reason.pass_upper": "{confidence} % upper bound {bound} ≤ {threshold}",
    "gate.reason.pass_lower": "{confidence} % lower bound {bound} ≥ {threshold}",
    "gate.reason.fail_upper": "{confidence} % lower bound {bound} > {threshold}",
    "gate.reason.fail_lower": "{confidence} % upper bound {bound} < {threshold}",
    "gate.reason.not_after_correction": "{confidence} % bound {bound} is past {threshold}, but not "
                                        "after the correction for many checks",
    "gate.reason.include": "{confidence} % bounds {low} – {high} include {threshold}",
    "gate.card": "release gate",
    "gate.verdict.pass": "pass",
    "gate.verdict.fail": "fail",
    "gate.verdict.undecided": "cannot decide",
    "gate.card_detail": "{passed} pass, {failed} fail, {undecided} cannot decide",
    "gate.caption": "Pass: the bound is shown to hold; fail: shown broken; cannot decide: neither, "
                    "with this many samples.",
    "gate.undecided_paragraph": "Cannot decide {rule} ({check}) on {target}: {needed}.",
    "gate.section": "Release gate",
    # levelhead findings --flagged
    "flagged.column.0": "#",
    "flagged.column.1": "what",
    "flagged.column.2": "target",
    "flagged.column.3": "probe",
    "flagged.column.4": "metric",
    "flagged.column.5": "group",
    "flagged.column.6": "estimate",
    "flagged.column.7": "95 % interval",
    "flagged.column.8": "no-problem value",
    "flagged.column.9": "distance",
    "flagged.title": "flagged findings of run '{run}', furthest from their no-problem value first",
    "flagged.none": "Nothing flagged in run '{run}': every finding's interval reaches its "
                    "no-problem value.",
    # spread
    "spread.title": "How the answers spread",
    "spread.intro": "levelhead asks each prompt many times; one screenshot shows one reply. For "
                    "the prompts asked most often, the replies are grouped by how they open (the "
                    "first {words} words, or {chars} Chinese characters; case and punctuation "
                    "ignored), largest group first, each with its share of the replies, the 95 % "
                    "interval of that share (Wilson) and one reply of the group.",
    "spread.prompt": "Prompt: {prompt}",
    "spread.caption": "{target} · {probe} · {prompt_id}: {n} replies, {distinct} different "
                      "openings",
    "spread.column.0": "#",
    "spread.column.1": "replies",
    "spread.column.2": "share",
    "spread.column.3": "95 % interval",
    "spread.column.4": "opening",
    "spread.column.5": "one reply of the group",
    "spread.all_different": "Every one of the {n} replies opens differently: any one screenshot "
                            "shows an opening the target gave once in {n} asks.",
    "spread.rest": "… and {more} more openings, covering {replies} replies.",
    "spread.other.caption": "{count} more prompts: how many different openings each one's "
                            "replies have, and how common the commonest is",
    "spread.other.0": "target",
    "spread.other.1": "probe",
    "spread.other.2": "prompt",
    "spread.other.3": "replies",
    "spread.other.4": "openings",
    "spread.other.5": "commonest opening",
    "spread.other.6": "its share",
    "spread.other.more": "… and {more} more prompts (levelhead ask PROMPT shows any one of them).",
}
