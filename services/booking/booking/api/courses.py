"""POST /api/courses (all sessions or none) and GET /api/courses/{id}."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from clinic_shared.auth import authorised

from .context import client_filter, require_client, require_principal, scheduler
from .schemas import CourseRequestSchema, CourseSchema

blp = Blueprint("courses", __name__, url_prefix="/api", description="Courses of treatment sessions")


def course_view(course, rows) -> dict:
    return {
        "id": course.id, "client_id": course.client_id, "screening_id": course.screening_id,
        "areas": list(course.areas), "sessions": course.sessions, "interval_weeks": course.interval_weeks,
        "bookings": [scheduler().booking_view(r) for r in rows],
    }


@blp.route("/courses")
class Courses(MethodView):
    @authorised(require_client)
    @blp.arguments(CourseRequestSchema)
    @blp.response(201, CourseSchema)
    def post(self, body):
        """Book a course of 3–6 sessions at the same local time, all or nothing (client token)."""
        course, rows = scheduler().book_course(g.principal.client_id, body["screening_id"], body["areas"],
                                               body["sessions"], body["interval_weeks"], body["start"])
        return course_view(course, rows)


@blp.route("/courses/<course_id>")
class CourseById(MethodView):
    @authorised(require_principal)
    @blp.response(200, CourseSchema)
    def get(self, course_id):
        """One course with its bookings, for its client or staff."""
        return course_view(*scheduler().get_course(course_id, client_filter(g.principal)))
