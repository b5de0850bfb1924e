"""The kinds of message (API.md / CLINIC.md "Messages") and the statuses a message moves through."""
PRE_TREATMENT = "pre_treatment"
APPOINTMENT_REMINDER = "appointment_reminder"
AFTERCARE = "aftercare"
AFTERCARE_CHECK_IN = "aftercare_check_in"
NEXT_SESSION_REMINDER = "next_session_reminder"
CONSULTATION_CONFIRMATION = "consultation_confirmation"
CANCELLATION = "cancellation"
SCREENING_RESULT = "screening_result"
SIGN_IN_LINK = "sign_in_link"
WAITLIST_OFFER = "waitlist_offer"

# The messages about one booking: each carries the link that manages it (CLINIC.md "Messages").
BOOKING_KINDS = (PRE_TREATMENT, APPOINTMENT_REMINDER, AFTERCARE, AFTERCARE_CHECK_IN, NEXT_SESSION_REMINDER,
                 CONSULTATION_CONFIRMATION, CANCELLATION)
ALL_KINDS = (*BOOKING_KINDS, SCREENING_RESULT, SIGN_IN_LINK, WAITLIST_OFFER)

# Statuses. `sending` is internal (claimed by a dispatcher); the API shows it as `scheduled`.
SCHEDULED = "scheduled"
SENDING = "sending"
SENT = "sent"
CANCELLED = "cancelled"
FAILED = "failed"
PUBLIC_STATUSES = (SCHEDULED, SENT, CANCELLED, FAILED)
