"""The rule for late, repeated and reordered booking events, as a plain function, exhaustively."""
import itertools

import pytest

from notifications.domain.ordering import Known, calendar_sequence, is_news

STATUSES = ("confirmed", "completed", "cancelled")
VERSIONS = (None, 1, 2, 3)


def test_the_first_event_of_a_booking_is_always_news():
    for version in VERSIONS:
        assert is_news(version, None)


@pytest.mark.parametrize("status, known_version, event_version", list(itertools.product(STATUSES, VERSIONS, VERSIONS)))
def test_only_newer_versions_and_nothing_after_a_cancellation(status, known_version, event_version):
    news = is_news(event_version, Known(status, known_version))
    if status == "cancelled":
        assert not news
    elif event_version is None or known_version is None:
        assert news == (status == "confirmed")  # ordered by state alone: nothing after a completion
    else:
        assert news == (event_version > known_version)


def test_the_calendar_sequence_follows_the_version_and_never_goes_back():
    assert calendar_sequence(0, 1) == 0
    assert calendar_sequence(0, 3) == 2  # a reschedule arriving before its confirmation
    assert calendar_sequence(5, 2) == 5  # already sent a higher one (counted before versions)
    assert calendar_sequence(4, None) == 4
