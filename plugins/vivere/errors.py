"""Wire texts of Vivere's errors (the ``message`` of ``{"error": {"title", "message"}}``).

Where the original server had a message for the same case, its text is kept.
Titles default to the HTTP reason phrase of the status (``"Conflict"``).
"""

# request shape
ERR_BAD_JSON = (
    "You must provide the parameters in the form of a JSON object and set the Content-Type Header"
)
ERR_MISSING = "No {name} provided"
ERR_BLANK = "{name} is blank"
ERR_TOO_LONG = "{name} must be at most {n} characters"
ERR_NOT_TEXT = "{name} must be a string"
ERR_BAD_CHARACTER = "{name} contains a character that cannot be stored (NUL or a lone surrogate)"
ERR_BAD_DATE = "{name} must be an ISO 8601 date, e.g. 2017-02-22T21:44:27Z"
ERR_BAD_ID = "Invalid {what} ID"
ERR_BAD_RANK = "rank must be an integer"
ERR_END_BEFORE_START = "end_time must not be before start_time"
ERR_UNKNOWN_FIELD = "Unknown field: {name}"
ERR_NOTHING_TO_CHANGE = "Nothing to change"

# accounts
ERR_LOGIN_REQUIRED = "No user is currently logged in"
ERR_BAD_LOGIN = "Invalid username or password"
ERR_USER_EXISTS = "User already exists"

# permissions
ERR_NOT_ORGANISER = "Only organisers can do this"

# lookups
ERR_NOT_FOUND = "Not found"
ERR_TICKET_NOT_FOUND = "Ticket does not exist"
ERR_LOCATION_NOT_FOUND = "Location not found"
ERR_MAP_NOT_FOUND = "This location has no map"
ERR_EVENT_NOT_FOUND = "Event not found"
ERR_ANNOUNCEMENT_NOT_FOUND = "Announcement not found"

# mentorship rules
ERR_TICKET_CLAIMED = "Ticket already claimed"
ERR_TICKET_CLOSED = "Ticket is closed"
ERR_TICKET_EXPIRED = "Ticket has expired; its creator can re-open it"
ERR_TICKET_OPEN = "Ticket is already open"
ERR_CLAIM_OWN = "You cannot claim your own ticket"
ERR_CANNOT_REOPEN = "Cannot re-open this ticket: only its mentee or mentor can"
ERR_CANNOT_CLOSE = "Cannot close this ticket: only its mentee or mentor can"

# organiser operations
ERR_UNKNOWN_LOCATION = "location_id names no location"
ERR_LOCATION_IN_USE = "Location is used by events; move or delete them first"
ERR_IMAGE_EMPTY = "Send the map image as the request body"
ERR_IMAGE_TYPE = "Map images must be PNG, JPEG, GIF or WebP"
ERR_IMAGE_TOO_LARGE = "Map images may be at most {n} bytes"

# announcements by Web Push
ERR_PUSH_OFF = "Web Push is not configured on this server"
ERR_NOT_SUBSCRIPTION = "Send the browser's push subscription as a JSON object"
ERR_PUSH_NOT_SUBSCRIBED = "This browser is not subscribed"

# SMS webhook
ERR_SMS_REFUSED = "Refused"
ERR_SMS_EMPTY = "Say something"
