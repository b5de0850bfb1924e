"""OpenAPI links: how one public operation's answer feeds the next (API.md's flows).

They are written here, on the merged document, because the flows cross services: a screening
(screening service) is what a booking (booking service) is made for, and a booking's id is what its
notifications (notifications service) are listed by. A client, or a stateful fuzzer such as
schemathesis, follows them: screening -> availability -> booking -> read, reschedule, cancel,
complete; course -> its sessions; a screening -> the waitlist -> its entry; the clearance queue -> a clearance; a closure -> its removal.
A link is added only when both of its operations are in the document (a service may be down).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    source: str  # "METHOD /path status"
    name: str
    target: str  # "METHOD /path"
    parameters: dict = field(default_factory=dict)
    body: dict | None = None
    description: str = ""


def _booking_links(source: str, booking: str) -> list[Link]:
    """What can be done with a booking found at JSON pointer `booking` of `source`'s answer."""
    booking_id = {"path.booking_id": f"$response.body#{booking}/id"}
    return [
        Link(source, "GetBooking", "GET /api/bookings/{booking_id}", booking_id),
        Link(source, "RescheduleBooking", "POST /api/bookings/{booking_id}/reschedule", booking_id,
             {"start": f"$response.body#{booking}/end"}, "Move the booking to start when it would have ended."),
        Link(source, "CancelBooking", "POST /api/bookings/{booking_id}/cancel", booking_id),
        Link(source, "CompleteBooking", "POST /api/bookings/{booking_id}/complete", booking_id),
        Link(source, "BookingNotifications", "GET /api/notifications",
             {"query.booking_id": f"$response.body#{booking}/id"}),
    ]


def _screening_links(source: str, screening: str) -> list[Link]:
    screening_id = {"path.screening_id": f"$response.body#{screening}/id"}
    return [
        Link(source, "GetScreening", "GET /api/screenings/{screening_id}", screening_id),
        Link(source, "ClearScreening", "POST /api/screenings/{screening_id}/clearance", screening_id),
    ]


LINKS: tuple[Link, ...] = (
    *_screening_links("POST /api/screenings 201", ""),
    *_screening_links("GET /api/screenings 200", "/screenings/0"),
    Link("POST /api/screenings 201", "AvailabilityForScreening", "GET /api/availability",
         {"query.areas": "$request.body#/areas"}, description="Free slots for the screened areas."),
    Link("POST /api/screenings 201", "BookForScreening", "POST /api/bookings",
         body={"screening_id": "$response.body#/id", "areas": "$request.body#/areas"}),
    Link("POST /api/screenings 201", "CourseForScreening", "POST /api/courses",
         body={"screening_id": "$response.body#/id", "areas": "$request.body#/areas"}),
    Link("GET /api/availability 200", "BookFirstSlot", "POST /api/bookings",
         body={"start": "$response.body#/slots/0/start", "type": "$request.query.type",
               "areas": "$request.query.areas"}, description="Book the first free slot."),
    Link("GET /api/availability 200", "CourseFromFirstSlot", "POST /api/courses",
         body={"start": "$response.body#/slots/0/start", "areas": "$request.query.areas"}),
    *_booking_links("POST /api/bookings 201", ""),
    *_booking_links("POST /api/bookings 200", ""),
    *_booking_links("GET /api/bookings/{booking_id} 200", ""),
    *_booking_links("POST /api/bookings/{booking_id}/reschedule 200", ""),
    *_booking_links("GET /api/bookings 200", "/bookings/0"),
    *_booking_links("POST /api/courses 201", "/bookings/0"),
    *_booking_links("GET /api/courses/{course_id} 200", "/bookings/0"),
    Link("POST /api/courses 201", "GetCourse", "GET /api/courses/{course_id}",
         {"path.course_id": "$response.body#/id"}),
    Link("POST /api/screenings 201", "JoinWaitlistForScreening", "POST /api/waitlist",
         body={"screening_id": "$response.body#/id", "areas": "$request.body#/areas"},
         description="Wait for a full day with the screened areas."),
    Link("POST /api/waitlist 201", "GetWaitlistEntry", "GET /api/waitlist/{entry_id}",
         {"path.entry_id": "$response.body#/id"}),
    Link("POST /api/waitlist 201", "LeaveWaitlist", "DELETE /api/waitlist/{entry_id}",
         {"path.entry_id": "$response.body#/id"}),
    Link("POST /api/closures 201", "DeleteClosure", "DELETE /api/closures/{day}",
         {"path.day": "$response.body#/date"}),
    Link("GET /api/closures 200", "DeleteClosure", "DELETE /api/closures/{day}",
         {"path.day": "$response.body#/closures/0/date"}),
)


def add_links(document: dict, links: tuple[Link, ...] = LINKS) -> dict:
    """Write `links` into the responses of `document` (in place), skipping those it cannot hold."""
    paths = document.get("paths", {})
    for link in links:
        method, path, status = link.source.split(" ")
        target_method, target_path = link.target.split(" ")
        response = paths.get(path, {}).get(method.lower(), {}).get("responses", {}).get(status)
        if response is None or target_method.lower() not in paths.get(target_path, {}):
            continue
        definition = {"operationRef": operation_ref(target_path, target_method)}
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.body is not None:
            definition["requestBody"] = dict(link.body)
        if link.description:
            definition["description"] = link.description
        response.setdefault("links", {})[link.name] = definition
    return document


def operation_ref(path: str, method: str) -> str:
    """A JSON pointer to an operation of this document (RFC 6901: ~ is ~0, / is ~1)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()
