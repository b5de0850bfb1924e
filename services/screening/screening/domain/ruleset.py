"""The rule set: questions and rules read from one versioned JSON file (rules.json by default).

The file is data so that another clinic, or this one next year, edits the rules without touching
code; loading checks it thoroughly, so a mistake in it stops the service at start, not a client later.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# The event contract's outcomes, least to most severe: the most severe among the rules that fired wins.
from clinic_shared.events import OUTCOMES

QUESTION_TYPES = ("boolean", "choice")

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.json")


class RuleSetError(ValueError):
    """The rule set file is not usable."""


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # "boolean" or "choice"
    text: str
    choices: tuple[str, ...] = ()

    def accepts(self, value) -> bool:
        if self.type == "boolean":
            return isinstance(value, bool)  # JSON true/false only: not "true", not 1
        return isinstance(value, str) and value in self.choices


@dataclass(frozen=True)
class Rule:
    question: str
    fires_on: tuple  # the answers that make this rule fire
    outcome: str
    code: str
    message: str

    def fires(self, answers: dict) -> bool:
        value = answers.get(self.question)
        # `value in fires_on` would treat 1 as True; compare type and value.
        return any(type(value) is type(candidate) and value == candidate for candidate in self.fires_on)


@dataclass(frozen=True)
class RuleSet:
    version: str
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


def load_ruleset(path: Path | str = DEFAULT_RULES_FILE) -> RuleSet:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuleSetError(f"cannot read rule set {path}: {exc}") from exc
    return parse_ruleset(raw)


def parse_ruleset(raw) -> RuleSet:
    """Build a RuleSet from the decoded file, refusing anything inconsistent."""
    if not isinstance(raw, dict):
        raise RuleSetError("the rule set must be a JSON object")
    version = raw.get("version")
    if not isinstance(version, str) or not version.strip():
        raise RuleSetError("the rule set needs a non-empty string 'version'")
    questions = tuple(_parse_question(q) for q in _list(raw, "questions"))
    if not questions:
        raise RuleSetError("the rule set has no questions")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise RuleSetError("question ids must be unique")
    by_id = {q.id: q for q in questions}
    rules = tuple(_parse_rule(r, by_id) for r in _list(raw, "rules"))
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise RuleSetError("rule codes must be unique")
    return RuleSet(version=version.strip(), questions=questions, rules=rules)


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    if not isinstance(value, list):
        raise RuleSetError(f"'{key}' must be a list")
    return value


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RuleSetError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _parse_question(raw) -> Question:
    if not isinstance(raw, dict):
        raise RuleSetError("every question must be an object")
    qid = _text(raw, "id", "question")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise RuleSetError(f"question {qid}: type must be one of {', '.join(QUESTION_TYPES)}")
    choices: tuple[str, ...] = ()
    if qtype == "choice":
        choices = tuple(_list(raw, "choices"))
        if not choices or not all(isinstance(c, str) and c for c in choices) or len(set(choices)) != len(choices):
            raise RuleSetError(f"question {qid}: choices must be distinct non-empty strings")
    return Question(id=qid, type=qtype, text=_text(raw, "text", f"question {qid}"), choices=choices)


def _parse_rule(raw, questions: dict[str, Question]) -> Rule:
    if not isinstance(raw, dict):
        raise RuleSetError("every rule must be an object")
    code = _text(raw, "code", "rule")
    question = questions.get(raw.get("question"))
    if question is None:
        raise RuleSetError(f"rule {code}: unknown question {raw.get('question')!r}")
    fires_on = tuple(_list(raw, "fires_on"))
    if not fires_on or not all(question.accepts(value) for value in fires_on):
        raise RuleSetError(f"rule {code}: fires_on must list answers that question {question.id} accepts")
    outcome = raw.get("outcome")
    if outcome not in OUTCOMES or outcome == "eligible":
        raise RuleSetError(f"rule {code}: outcome must be consultation_required or not_suitable")
    return Rule(question=question.id, fires_on=fires_on, outcome=outcome, code=code,
                message=_text(raw, "message", f"rule {code}"))
