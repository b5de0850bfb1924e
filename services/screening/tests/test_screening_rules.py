"""The clinic's screening rules as plain functions: every rule alone, combinations, the file itself."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from screening.domain.clearance import ClearanceNotAllowed, cleared_outcome
from screening.domain.evaluation import answer_errors, evaluate, most_severe
from screening.domain.ruleset import DEFAULT_RULES_FILE, RuleSetError, load_ruleset, parse_ruleset
from screening.domain.validity import valid_until

RULESET = load_ruleset()

# CLINIC.md's table, restated independently of rules.json: question, firing answer, outcome, reason code.
CLINIC_TABLE = [
    ("active_acne", True, "not_suitable", "active_acne"),
    ("eczema", True, "not_suitable", "eczema"),
    ("psoriasis", True, "not_suitable", "psoriasis"),
    ("fitzpatrick_type", "IV", "consultation_required", "hyperpigmentation_risk"),
    ("fitzpatrick_type", "V", "consultation_required", "hyperpigmentation_risk"),
    ("fitzpatrick_type", "VI", "consultation_required", "hyperpigmentation_risk"),
    ("pregnant_or_breastfeeding", True, "not_suitable", "pregnant_or_breastfeeding"),
    ("isotretinoin_last_6_months", True, "not_suitable", "isotretinoin_last_6_months"),
    ("active_skin_infection", True, "not_suitable", "active_skin_infection"),
    ("keloid_scarring", True, "consultation_required", "keloid_scarring"),
    ("blood_thinners", True, "consultation_required", "blood_thinners"),
]
BOOLEAN_QUESTIONS = [q for q, value, _, _ in CLINIC_TABLE if value is True]


def clean(**changes):
    answers = {q.id: False for q in RULESET.questions if q.type == "boolean"}
    answers["fitzpatrick_type"] = "I"
    answers.update(changes)
    return answers


def test_the_questionnaire_has_exactly_the_questions_of_clinic_md():
    assert set(RULESET.question_ids) == {q for q, *_ in CLINIC_TABLE}
    for question in RULESET.questions:
        assert question.text.strip()
        expected = "choice" if question.id == "fitzpatrick_type" else "boolean"
        assert question.type == expected
    assert RULESET.question("fitzpatrick_type").choices == ("I", "II", "III", "IV", "V", "VI")


def test_no_rule_fires_on_clean_answers():
    verdict = evaluate(RULESET, clean())
    assert verdict.outcome == "eligible"
    assert verdict.reasons == ()


@pytest.mark.parametrize("question, value, outcome, code", CLINIC_TABLE)
def test_every_rule_alone(question, value, outcome, code):
    verdict = evaluate(RULESET, clean(**{question: value}))
    assert verdict.outcome == outcome
    assert [r.code for r in verdict.reasons] == [code]
    assert verdict.reasons[0].message.strip()


@pytest.mark.parametrize("skin_type", ["I", "II", "III"])
def test_lighter_skin_types_fire_nothing(skin_type):
    assert evaluate(RULESET, clean(fitzpatrick_type=skin_type)).outcome == "eligible"


def test_not_suitable_outranks_consultation_required_and_every_reason_is_listed():
    verdict = evaluate(RULESET, clean(fitzpatrick_type="VI", keloid_scarring=True, eczema=True))
    assert verdict.outcome == "not_suitable"
    assert {r.code for r in verdict.reasons} == {"hyperpigmentation_risk", "keloid_scarring", "eczema"}


def test_several_consultation_rules_stay_consultation_required():
    verdict = evaluate(RULESET, clean(fitzpatrick_type="IV", keloid_scarring=True, blood_thinners=True))
    assert verdict.outcome == "consultation_required"
    assert [r.code for r in verdict.reasons] == ["hyperpigmentation_risk", "keloid_scarring", "blood_thinners"]


def test_everything_firing_lists_every_rule_in_file_order():
    verdict = evaluate(RULESET, clean(fitzpatrick_type="V", **{q: True for q in BOOLEAN_QUESTIONS}))
    assert verdict.outcome == "not_suitable"
    assert [r.code for r in verdict.reasons] == [r.code for r in RULESET.rules]
    assert len(verdict.reasons) == 9


@pytest.mark.parametrize("pair", [(a, b) for i, a in enumerate(BOOLEAN_QUESTIONS) for b in BOOLEAN_QUESTIONS[i + 1:]])
def test_every_pair_of_boolean_rules_takes_the_more_severe(pair):
    outcome_of = {q: o for q, _, o, _ in CLINIC_TABLE}
    verdict = evaluate(RULESET, clean(**{pair[0]: True, pair[1]: True}))
    assert verdict.outcome == most_severe([outcome_of[pair[0]], outcome_of[pair[1]]])
    assert len(verdict.reasons) == 2


def test_most_severe():
    assert most_severe([]) == "eligible"
    assert most_severe(["consultation_required"]) == "consultation_required"
    assert most_severe(["consultation_required", "not_suitable", "eligible"]) == "not_suitable"


def test_answer_errors_accepts_complete_answers():
    assert answer_errors(RULESET, clean()) == {}


def test_answer_errors_names_every_missing_question():
    assert set(answer_errors(RULESET, {})) == set(RULESET.question_ids)


@pytest.mark.parametrize("value", ["true", "false", 1, 0, None, [], {}, 1.0])
def test_boolean_questions_take_json_booleans_only(value):
    errors = answer_errors(RULESET, clean(eczema=value))
    assert list(errors) == ["eczema"]


@pytest.mark.parametrize("value", ["iv", "VII", "", 4, None, True])
def test_choice_question_takes_one_of_its_choices(value):
    errors = answer_errors(RULESET, clean(fitzpatrick_type=value))
    assert list(errors) == ["fitzpatrick_type"]


def test_unknown_answers_are_refused():
    errors = answer_errors(RULESET, clean(tattoos=False))
    assert errors == {"tattoos": ["Unknown question."]}


@pytest.mark.parametrize("answers", [None, [], "yes", 3])
def test_answers_must_be_an_object(answers):
    assert answer_errors(RULESET, answers)


def test_evaluate_refuses_answers_it_cannot_judge():
    with pytest.raises(ValueError):
        evaluate(RULESET, clean(eczema=1))  # 1 == True in Python: never let that fire or pass


# --- the rule set file -------------------------------------------------------------------------

def raw_rules():
    return json.loads(DEFAULT_RULES_FILE.read_text())


def test_the_shipped_file_parses_and_has_a_version():
    assert RULESET.version == raw_rules()["version"]
    assert parse_ruleset(raw_rules()) == RULESET


def broken(mutate):
    raw = copy.deepcopy(raw_rules())
    mutate(raw)
    return raw


@pytest.mark.parametrize("mutate", [
    lambda r: r.pop("version"),
    lambda r: r.update(version="  "),
    lambda r: r.update(questions=[]),
    lambda r: r.update(questions="x"),
    lambda r: r["questions"].append(dict(r["questions"][0])),  # duplicate id
    lambda r: r["questions"][0].update(type="number"),
    lambda r: r["questions"][0].update(text=""),
    lambda r: r["questions"][3].update(choices=[]),
    lambda r: r["questions"][3].update(choices=["I", "I"]),
    lambda r: r["rules"][0].update(question="nope"),
    lambda r: r["rules"][0].update(fires_on=["yes"]),
    lambda r: r["rules"][0].update(fires_on=[]),
    lambda r: r["rules"][3].update(fires_on=["VII"]),
    lambda r: r["rules"][0].update(outcome="eligible"),
    lambda r: r["rules"][0].update(outcome="maybe"),
    lambda r: r["rules"][0].update(message=""),
    lambda r: r["rules"][1].update(code="active_acne"),  # duplicate code
    lambda r: r["rules"].append("rule"),
])
def test_an_inconsistent_rule_set_is_refused(mutate):
    with pytest.raises(RuleSetError):
        parse_ruleset(broken(mutate))


def test_a_missing_or_malformed_file_is_refused(tmp_path):
    with pytest.raises(RuleSetError):
        load_ruleset(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RuleSetError):
        load_ruleset(tmp_path / "bad.json")
    with pytest.raises(RuleSetError):
        parse_ruleset([])


def test_a_changed_rule_set_judges_by_its_own_data():
    raw = broken(lambda r: r["rules"][0].update(outcome="consultation_required"))
    raw["version"] = "next"
    ruleset = parse_ruleset(raw)
    assert ruleset.version == "next"
    assert evaluate(ruleset, clean(active_acne=True)).outcome == "consultation_required"


# --- clearance and validity --------------------------------------------------------------------

@pytest.mark.parametrize("decision, outcome", [("approved", "eligible"), ("declined", "not_suitable")])
def test_clearance_of_a_consultation_required_screening(decision, outcome):
    assert cleared_outcome("consultation_required", decision) == outcome


@pytest.mark.parametrize("current", ["eligible", "not_suitable"])
@pytest.mark.parametrize("decision", ["approved", "declined"])
def test_clearance_only_from_consultation_required(current, decision):
    with pytest.raises(ClearanceNotAllowed):
        cleared_outcome(current, decision)


def test_clearance_refuses_an_unknown_decision():
    with pytest.raises(ValueError):
        cleared_outcome("consultation_required", "maybe")


def test_valid_until_is_validity_days_after_creation():
    created = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    assert valid_until(created, 90) == created + timedelta(days=90)
    assert valid_until(created, 1) == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        valid_until(created, 0)
