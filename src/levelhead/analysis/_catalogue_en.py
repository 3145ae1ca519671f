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
    # words shared by the sections below
    "word.yes": "yes",
    "word.no": "no",
    "word.all": "all",
    "word.lang": "lang",
    "word.judge": "judge",
    "word.finding": "finding",
    "word.group": "group",
    "word.estimate": "estimate",
    "word.interval": "95 % interval",
    "word.flag": "flag",
    "word.errors": "errors",
    "word.missing": "missing",
    "word.items": "items",
    "word.pairs": "pairs",
    "word.significant": "significant",
    "word.share_judged": "share of judged replies",
    "role.system": "system",
    "role.user": "user",
    "role.assistant": "assistant",
    "tail.score": "{label} (score {score})",
    # notes a finding or a comparison keeps (English in the JSON), as the page shows them
    "note.no_judged_sample": "no judged sample",
    "note.too_few_items": "fewer than 2 items judged on both sides",
    "note.judge_error": "no verdict could be given (judge_error)",
    "note.no_turn": "no conversation reached turn {turn}",
    "note.no_hazard_change": "no change of the hazard to place",
    "note.unpaired_prompts": "{n} prompt(s) judged on one side only were left out",
    "note.too_few_prompts": "a paired comparison needs at least 2 prompts with judged samples on "
                            "both sides (got {n})",
    # politics.forced_choice
    "fc.title": "Forced choice · {probe}",
    "fc.intro": "Each item asks the target to pick one of two names, in both orders. Bars are the "
                "share of judged replies picking the first-listed name, the second, or declining "
                "(hover a bar for the name), with simultaneous 95 % intervals; an even-handed "
                "target declines or splits near half and half.",
    "fc.option.x": "first-listed name",
    "fc.option.y": "second-listed name",
    "fc.option.declined": "declined",
    "fc.figure": "forced-choice shares · {target}",
    "fc.item": "item",
    "fc.column.0": "item",
    "fc.column.1": "option",
    "fc.column.2": "picks",
    "fc.column.3": "n",
    "fc.column.4": "share",
    "fc.column.5": "low",
    "fc.column.6": "high",
    "fc.caption": "{probe} · {target}: share of each option per item, with 95 % intervals.",
    "fc.pooled_caption": "pooled over items, clustered by item (flag: the interval excludes one "
                         "half)",
    "fc.minority_column.0": "target",
    "fc.minority_column.1": "item",
    "fc.minority_column.2": "minority answer",
    "fc.minority_column.3": "share",
    "fc.minority_column.4": "P(≥1 in 10 asks)",
    "fc.minority_column.5": "preference p",
    "fc.minority_caption": "the answer someone will screenshot: how often the less-picked name "
                           "comes up",
    # politics.mirrored
    "mirror.title": "Mirrored pairs · {probe}",
    "mirror.intro": "The same request with the sides swapped. For each pair, the mean length "
                    "(words; a Chinese character counts as one) of the replies about side A and "
                    "side B: an even-handed target's bars match. The table below gives the paired "
                    "differences over all pairs, with intervals.",
    "mirror.side": "side {side}",
    "mirror.words_unit": "words",
    "mirror.figure": "words for side A vs side B · {target}",
    "mirror.pair": "pair",
    "mirror.axis": "mean words per reply",
    "mirror.column.0": "pair",
    "mirror.column.1": "side A",
    "mirror.column.2": "words A",
    "mirror.column.3": "side B",
    "mirror.column.4": "words B",
    "mirror.column.5": "B − A",
    "mirror.caption": "{probe} · {target}: mean words per reply for each side of each mirrored "
                      "pair.",
    "mirror.pooled_caption": "paired asymmetries: asymmetry:<feature> is the first side minus the "
                             "second, per pair; refusal_asymmetry is the second side's refusal "
                             "rate minus the first's; even_handed_rate is the share of pairs a "
                             "pairwise judge found treated the same (flag: the interval excludes "
                             "0)",
    "mirror.pairs_intro": "Pair by pair: for every pair and measure, the replies to side A "
                          "against the replies to side B (difference A − B with its 95 % "
                          "interval: Welch t for a mean, Newcombe for the share refused), the "
                          "p-value adjusted with {correction} over every pair and measure of the "
                          "target, and a flag where the adjusted p is at most {alpha}. A flagged "
                          "pair is unlikely to be a fluke of sampling even among this many pairs; "
                          "the replies shown are the ones closest to each side's mean, what most "
                          "people asking would see.",
    "mirror.pairs_column.0": "pair",
    "mirror.pairs_column.1": "side A",
    "mirror.pairs_column.2": "side B",
    "mirror.pairs_column.3": "measure",
    "mirror.pairs_column.4": "A",
    "mirror.pairs_column.5": "B",
    "mirror.pairs_column.6": "A − B",
    "mirror.pairs_column.7": "95 % interval",
    "mirror.pairs_column.8": "adjusted p",
    "mirror.pairs_column.9": "flagged measures",
    "mirror.pairs_caption": "{probe} · {target}: {flagged} of {pairs} pairs flagged; the {shown} "
                            "most unequal, each by its most telling measure (flagged first, then "
                            "by adjusted p)",
    "mirror.join": ", ",
    "mirror.measure.words": "words",
    "mirror.measure.characters": "characters",
    "mirror.measure.list_items": "list_items",
    "mirror.measure.hedges": "hedges",
    "mirror.measure.sentiment": "sentiment",
    "mirror.measure.refusal": "refusal",
    "mirror.flagged": "flagged",
    "mirror.not_flagged": "not flagged",
    "mirror.transcript": "{flag} · {target} · {pair}: {measure}",
    "mirror.turn_note": "side {side} · {name} · {measure} {value}",
    "mirror.means": "{a} vs {b} (mean of {n_a} and {n_b} replies)",
    "mirror.difference": "{estimate} (95 % interval {low} – {high})",
    "mirror.adjusted_p": "adjusted p",
    "mirror.adjusted": "{p} ({correction}, {family} tests)",
    "mirror.replies_shown": "replies shown",
    "mirror.shown": "A {a}, B {b}: closest to each side's mean",
    # pressure.demanding_user
    "pressure.title": "Pressure: long conversations with a demanding user ({probe})",
    "pressure.intro": "Long conversations with a demanding user (the endless reviser, the "
                      "impatient, the rude and the contradicting user), every assistant turn "
                      "judged as it arrived. The curve says how many conversations are still civil "
                      "after each turn; the hazard, how likely a civil conversation is to turn bad "
                      "at that turn. A hazard that rises with the turn, an onset well after turn 1 "
                      "and a positive early-to-late growth all say the same thing: the risk grows "
                      "with the length of the pressure, where single-turn tests never look.",
    "pressure.interval": "{name} interval",
    "pressure.curve_figure": "{probe}: still civil after turn t ({judge})",
    "pressure.axis_turn": "assistant turn",
    "pressure.axis_civil": "share of conversations still civil",
    "pressure.curve_column.0": "target",
    "pressure.curve_column.1": "turn",
    "pressure.curve_column.2": "at risk",
    "pressure.curve_column.3": "turned bad",
    "pressure.curve_column.4": "still civil",
    "pressure.curve_column.5": "low",
    "pressure.curve_column.6": "high",
    "pressure.curve_column.7": "hazard",
    "pressure.curve_caption": "Kaplan-Meier curve of 'still civil after turn t' by {judge}, with "
                              "pointwise 95 % intervals (shaded); a conversation that ended early "
                              "counts as civil up to its last turn (censored).",
    "pressure.hazard_figure": "{probe}: hazard per turn ({judge})",
    "pressure.axis_hazard": "P(turns bad now | civil so far)",
    "pressure.hazard_caption": "The hazard: of the conversations still civil when a turn began, "
                               "the share that turned bad at that turn (Wilson 95 % intervals). A "
                               "rise means the risk grows with the length of the pressure.",
    "pressure.no_estimate": "no estimate",
    "pressure.value_none": "– ({note})",
    "pressure.value_onset": "turn {turn} ({low}–{high}){trend}",
    "pressure.rises": ", rises",
    "pressure.no_clear_rise": ", no clear rise",
    "pressure.value_per_1000_none": "0 per 1,000 turns (at most {upper}, 95 % upper bound)",
    "pressure.value_per_1000": "{rate} per 1,000 turns ({low}–{high})",
    "pressure.value_growth": "{estimate} points ({low} to {high}), p = {p}",
    "pressure.summary_column.0": "target",
    "pressure.summary_column.1": "finding",
    "pressure.summary_column.2": "persona",
    "pressure.summary_column.3": "estimate (95 % interval)",
    "pressure.summary_column.4": "n",
    "pressure.summary_column.5": "errors",
    "pressure.summary_column.6": "missing",
    "pressure.summary_caption": "n counts turns for rates over turns, at-risk turn-steps for "
                                "hazards, and conversations for the curve and the onset.",
    "pressure.worst_intro": "The worst conversations by {judge}, shown whole; the bad turns are "
                            "flagged.",
    "pressure.worst": "worst conversation · {target} · {prompt} #{sample}",
    "pressure.error": "[error: {error}]",
    "pressure.turn_note": "turn {turn} · {judge}: {label}",
    "pressure.persona": "persona",
    "pressure.turns": "turns",
    "pressure.first_bad": "first bad turn",
    "pressure.bad_turns": "bad turns",
    # scolding.benign_edgy
    "scold.title": "Scolding: benign but edgy requests ({probe})",
    "scold.intro": "Legitimate requests that look sensitive (killing a process, a villain's "
                   "monologue, how a massacre happened, a drug-safety question) should get help "
                   "without a lecture; the harmful contrasts should not. Over-refusal and harmful "
                   "compliance trade against each other, so read them together.",
    "scold.figure": "{probe}: rates",
    "scold.axis": "share of replies",
    "scold.rate.over_refusal_rate": "over refusal rate",
    "scold.rate.partial_refusal_rate": "partial refusal rate",
    "scold.rate.moralising_rate": "moralising rate",
    "scold.rate.condescension_rate": "condescension rate",
    "scold.rate.harmful_compliance_rate": "harmful compliance rate",
    "scold.caption": "{probe}: each rate with its 95 % interval (clustered by prompt).",
    "scold.refused": "refused a benign request",
    # sycophancy
    "syco.bars_caption": "{title}, with 95 % intervals.",
    "syco.range": "{low} to {high}",
    "syco.excludes_zero": "interval excludes 0",
    "syco.flattery.title": "Sycophancy: flattery ({probe})",
    "syco.flattery.intro": "Plain questions with known answers. A sycophantic target opens with "
                           "praise of the question or the user before answering, or never answers "
                           "at all. Rates are clustered by question.",
    "syco.flattery.praise": "{probe}: replies opening with praise",
    "syco.flattery.no_answer": "{probe}: replies that never answer",
    "syco.flattery.words": "words of praise before the first substantive sentence (mean per reply)",
    "syco.flattery.why": "most flattering reply",
    "syco.sure.title": "Sycophancy: are you sure? ({probe})",
    "syco.sure.intro": "Each question is asked plainly (turn 1: ask); then the user pushes back on "
                       "the target's own answer, whatever it was: doubting it (doubt) or asserting "
                       "a wrong answer (assert), and the target answers again (turn 2). Accuracy "
                       "should not drop after a pushback; a flip is a right answer at turn 1 and a "
                       "wrong one at turn 2.",
    "syco.sure.accuracy": "{probe}: accuracy before and after pushback",
    "syco.sure.accuracy_axis": "share correct",
    "syco.sure.flips": "{probe}: flips from right to wrong",
    "syco.sure.flips_axis": "share of right first answers",
    "syco.sure.shifts": "accuracy at turn 2 minus turn 1 (paired by item), apologies that kept the "
                        "right answer, and flips on items the target knows",
    "syco.sure.why": "flipped",
    "syco.echo.title": "Sycophancy: opinion echo ({probe})",
    "syco.echo.intro": "The user states a view (A, or its mirror B) and asks for an assessment. A "
                       "target with its own view agrees with one version and not the other; one "
                       "that agrees with both is echoing the user. Echo shift: agreement minus "
                       "disagreement over both versions, paired by item (0 = independent of the "
                       "user, +1 = agrees with whoever asks).",
    "syco.echo.agreement": "{probe}: agreement with the user's stated view",
    "syco.echo.shifts": "echo shift and the rate of agreeing with both versions",
    "syco.echo.why": "agreed with both versions",
    "syco.feedback.title": "Sycophancy: feedback ({probe})",
    "syco.feedback.intro": "The same flawed piece of work, shared neutrally, as the user's own "
                           "(\"I wrote this and I love it\"), or as a colleague's. Sycophancy "
                           "shows as warmer feedback and a flaw left unmentioned when the user is "
                           "invested.",
    "syco.feedback.positivity": "{probe}: positivity of the feedback",
    "syco.feedback.positivity_axis": "mean positivity (-1 to +1)",
    "syco.feedback.flaw": "{probe}: replies that mention the known flaw",
    "syco.feedback.shifts": "shifts from the neutral framing, paired by item",
    "syco.feedback.own_work": "(the user's own work, with a known flaw: {flaw})",
    "syco.feedback.why": "praised the user's work and missed the flaw",
    # the comparison
    "compare.title": "Comparison: {candidate} vs {baseline}",
    "compare.incomplete": "Incomplete: {what}. The differences rest on the samples stored so far, "
                          "paired by prompt.",
    "compare.correction": "Differences are candidate minus baseline, in percentage points, with "
                          "{confidence} % cluster-robust intervals paired by prompt. p-values are "
                          "adjusted for {tested} behaviours compared at once with {method} at "
                          "alpha = {alpha}.",
    "compare.method.holm": "Holm (family-wise error)",
    "compare.method.bh": "Benjamini-Hochberg (false discovery rate)",
    "compare.label": "{behaviour} ({candidate} vs {baseline})",
    "compare.points": "points",
    "compare.figure": "{candidate} minus {baseline} (percentage points)",
    "compare.axis": "difference in rate (points)",
    "compare.range": "{low} to {high}",
    "compare.join": "; ",
    "compare.column.0": "baseline",
    "compare.column.1": "candidate",
    "compare.column.2": "behaviour",
    "compare.column.3": "baseline rate",
    "compare.column.4": "candidate rate",
    "compare.column.5": "difference (points)",
    "compare.column.6": "interval",
    "compare.column.7": "p",
    "compare.column.8": "adjusted p",
    "compare.column.9": "prompts",
    "compare.column.10": "note",
    "compare.caption": "Forest plot: each behaviour's difference with its interval; red marks a "
                       "difference that stays significant after the correction.",
    "compare.filter.title": "Blocked by a content filter",
    "compare.filter.note": "Blocked: replies withheld by a content filter (finish_reason "
                           "\"content_filter\") among each side's replies (a conversation's "
                           "turns, else its samples). False blocks: withheld among the replies "
                           "whose counterpart on the other side (same prompt, sample and turn, "
                           "after the same conversation) was delivered and judged benign by "
                           "{judges}; turns after the two conversations part are left out. Same "
                           "reply: pairs delivered on both sides with the same text. "
                           "{confidence} % Wilson intervals, clustered by prompt.",
    "compare.filter.differ": "{probe}: {k} of {n} replies that {side} and {other} both delivered "
                             "after the same conversation differ, so the target does not answer "
                             "alike and a "
                             "counterpart's verdict may not be the withheld reply's: audit with "
                             "temperature 0, or a seed the server honours, for exact pairs.",
    "compare.filter.column.0": "side",
    "compare.filter.column.1": "probe",
    "compare.filter.column.2": "replies",
    "compare.filter.column.3": "blocked",
    "compare.filter.column.4": "interval",
    "compare.filter.column.5": "benign",
    "compare.filter.column.6": "false blocks",
    "compare.filter.column.7": "interval",
    "compare.filter.column.8": "same reply",
    # conditions
    "cond.title": "Conditions: system messages and sampling settings",
    "cond.intro": "Each condition (a system message, a temperature…) ran the same prompts as a "
                  "variant of the target. The heat map shows each behaviour's rate per condition; "
                  "the table below it the effect against the reference condition, paired by "
                  "prompt, with Holm-adjusted p-values.",
    "cond.figure": "{base}: rates by condition",
    "cond.caption": "{base}: each behaviour's rate under each condition.",
    "cond.condition": "condition",
    "cond.pts": "{value} pts",
    "cond.pts_range": "{low} to {high} pts",
    "cond.only": " (only {setting} differs)",
    "cond.joint": " (joint: {settings})",
    "cond.effect_column.0": "variant",
    "cond.effect_column.1": "against",
    "cond.effect_column.2": "behaviour",
    "cond.effect_column.3": "rate",
    "cond.effect_column.4": "reference rate",
    "cond.effect_column.5": "effect",
    "cond.effect_column.6": "95 % interval",
    "cond.effect_column.7": "adjusted p",
    "cond.effects_caption": "effect of each condition against the reference (every setting at its "
                            "first level; 'joint' when it differs in several settings) and, for "
                            "those, of each setting alone (against the variant that differs in "
                            "that setting only), paired by prompt; p-values Holm-adjusted over all "
                            "of them",
    "cond.spread_column.0": "target",
    "cond.spread_column.1": "behaviour",
    "cond.spread_column.2": "rates per system message",
    "cond.spread_column.3": "spread",
    "cond.spread_column.4": "95 % interval",
    "cond.spread_column.5": "noise alone",
    "cond.spread_column.6": "p",
    "cond.spread_column.7": "per-prompt instability",
    "cond.spread_column.8": "beyond noise",
    "cond.spread_caption": "how far each behaviour moves across the system messages, other "
                           "settings fixed. A range of noisy rates is never 0: 'noise alone' is "
                           "the spread of the same replies dealt at random among the system "
                           "messages, p the chance of a spread this large from noise alone; "
                           "'beyond noise' is the per-prompt instability minus what noise alone "
                           "gives",
    "cond.curve_figure": "the tail against temperature: prompts with at least one bad reply in N",
    "cond.temperature": "temperature",
    "cond.curve_axis": "share of prompts",
    "cond.curve_column.0": "target",
    "cond.curve_column.1": "behaviour",
    "cond.curve_column.2": "prompts with ≥ 1 bad reply",
    "cond.curve_column.3": "95 % interval",
    "cond.curve_column.4": "N",
    "cond.curve_caption": "The worst of N as temperature rises: the share of prompts whose N "
                          "replies include at least one bad one, with 95 % intervals.",
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
