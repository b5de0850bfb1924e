"""GET /api/screening/questionnaire: the questions of the rule set in force."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..context import current_context
from .schemas import QuestionnaireSchema


def questionnaire_blueprint() -> Blueprint:
    blp = Blueprint("questionnaire", __name__, description="The screening questionnaire (public).")

    @blp.route("/api/screening/questionnaire")
    class Questionnaire(MethodView):
        @blp.response(200, QuestionnaireSchema)
        def get(self):
            """The questions every screening answers, with the rule set's version."""
            ruleset = current_context().ruleset
            questions = []
            for q in ruleset.questions:
                item = {"id": q.id, "type": q.type, "text": q.text}
                if q.type == "choice":
                    item["choices"] = list(q.choices)
                questions.append(item)
            return {"version": ruleset.version, "questions": questions}

    return blp
