"""Judging a set of answers: which rules fire, and the outcome they add up to."""
from __future__ import annotations

from dataclasses import dataclass

from .ruleset import OUTCOMES, RuleSet


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reasons: tuple[Reason, ...]  # every rule that fired, in the rule set's order


def most_severe(outcomes) -> str:
    """The most severe of `outcomes`; eligible when there are none."""
    return max(outcomes, key=OUTCOMES.index, default="eligible")


def answer_errors(ruleset: RuleSet, answers) -> dict[str, list[str]]:
    """Per question id (or unknown key), why the answers cannot be judged; empty when they can."""
    if not isinstance(answers, dict):
        return {"_schema": ["Answers must be an object mapping question ids to answers."]}
    errors: dict[str, list[str]] = {}
    for question in ruleset.questions:
        if question.id not in answers:
            errors[question.id] = ["This question must be answered."]
        elif not question.accepts(answers[question.id]):
            errors[question.id] = (["Must be true or false (a JSON boolean)."] if question.type == "boolean"
                                   else [f"Must be one of: {', '.join(question.choices)}."])
    for key in answers:
        if ruleset.question(key) is None:
            errors[str(key)] = ["Unknown question."]
    return errors


def evaluate(ruleset: RuleSet, answers: dict) -> Verdict:
    """The verdict on complete, valid answers (check them with `answer_errors` first)."""
    errors = answer_errors(ruleset, answers)
    if errors:
        raise ValueError(f"answers cannot be judged: {errors}")
    fired = [rule for rule in ruleset.rules if rule.fires(answers)]
    return Verdict(outcome=most_severe(rule.outcome for rule in fired),
                   reasons=tuple(Reason(rule.code, rule.message) for rule in fired))
