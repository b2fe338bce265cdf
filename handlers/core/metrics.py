"""The CloudWatch metrics the handlers emit (EMF) and the dashboard and alarms read: one name
each, defined here and imported on both sides."""

METRICS_NAMESPACE = "SESMailEngine"
"""Namespace of every handler's metrics (``POWERTOOLS_METRICS_NAMESPACE``)."""

# -- services: the ``service`` dimension Powertools adds to every metric ------------------------

SERVICE_DIMENSION = "service"
SENDER_SERVICE = "email-sender"
FEEDBACK_SERVICE = "feedback-processor"
UNSUBSCRIBE_SERVICE = "unsubscribe"
BRAKE_SERVICE = "sending-brake"
STATUS_EVENTS_SERVICE = "status-events"

ENGINE_DIMENSION = "engine"
"""Every metric's second dimension: the engine that emitted it (``ENGINE_NAME``, the engine's
``<name>-<stack>``), so two engines in one account and region never chart or alarm on each
other's metrics."""

# -- the email sender -------------------------------------------------------------------------

EMAILS_SENT = "EmailsSent"
EMAILS_FAILED = "EmailsFailed"
EMAILS_SUPPRESSED = "EmailsSuppressed"
EMAILS_RETRIED = "EmailsRetried"
EMAILS_DUPLICATE = "EmailsDuplicate"
RECORDS_UNTRACKABLE = "RecordsUntrackable"
TRACKING_WRITE_FAILURES = "TrackingWriteFailures"
EMAIL_ID_CONFLICTS = "EmailIdConflicts"
"""Requests refused because their ``emailId`` already names a different request."""
RECORDS_DEAD_LETTERED = "RecordsDeadLettered"
"""Records the sender moved to the email DLQ itself (they could never succeed)."""
EMAILS_HELD = "EmailsHeld"
"""Expired claims written ``unknown`` under the ``hold`` ambiguous-send policy."""
EMAILS_SCHEDULED = "EmailsScheduled"
"""Requests held ``scheduled`` until their ``sendAt``, with a one-time schedule."""
RENDER_TIME = "RenderTime"
"""Milliseconds per render."""
SES_LATENCY = "SesLatency"
"""Milliseconds per SES call."""
SES_THROTTLES = "SesThrottles"
"""Sends SES refused for the account's sending rate (each record is retried, never failed)."""
SEND_RATE = "SendRate"
"""Emails per second the instance paces to after the batch: ``MAX_SEND_RATE`` (0: unlimited),
or, unset, the rate it found from the account's quota and SES's throttling."""
EMAILS_FAILED_BY_REASON = "EmailsFailedByReason"
"""Emitted in its own EMF document, with a :data:`REASON_DIMENSION` besides service and engine."""
REASON_DIMENSION = "reason"

# -- the status-events function (the tracking table's stream) ----------------------------------

STATUS_EVENTS_PUT = "StatusEventsPut"
"""``Email Status Changed`` events EventBridge accepted."""
STATUS_EVENT_FAILURES = "StatusEventFailures"
"""PutEvents calls or entries that failed; the records from the first failed one are retried."""

# -- the feedback processor -------------------------------------------------------------------

SEND_EVENTS = "SendEvents"
"""SES ``Send`` events recorded (``sent`` when they arrive before the sender's own write)."""
DELIVERED = "Delivered"
BOUNCED = "Bounced"
SOFT_BOUNCED = "SoftBounced"
COMPLAINED = "Complained"
REJECTED = "Rejected"
RENDERING_FAILED = "RenderingFailed"
DELIVERY_DELAYED = "DeliveryDelayed"
OPENED = "Opened"
CLICKED = "Clicked"
SUPPRESSED = "Suppressed"
UNKNOWN_EMAIL = "UnknownEmail"
FEEDBACK_FAILED = "FeedbackFailed"
ENGAGEMENT_UNCOUNTED = "EngagementUncounted"
"""Opens and clicks past `feedback_rules.MAX_APPLIED_EVENTS` on one email, not counted."""

# -- the stuck-email sweep --------------------------------------------------------------------

STUCK_SWEEP_SERVICE = "stuck-email-sweep"
STUCK_EMAILS = "StuckEmails"
"""Emails found still ``processing`` after ``stuckAfterMinutes`` (each run; alarmed above 0)."""

# -- the unsubscribe endpoint -----------------------------------------------------------------

UNSUBSCRIBES = "Unsubscribes"
UNSUBSCRIBES_REFUSED = "UnsubscribesRefused"

# -- the sending brake ------------------------------------------------------------------------

BRAKE_ENGAGED = "BrakeEngaged"
