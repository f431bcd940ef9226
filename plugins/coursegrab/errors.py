"""Wire texts of CourseGrab's errors (the strings in ``{"data": {"errors": [...]}}``).

Where the original server had a message for the same case, its text is kept.
"""

# authorization (the seed's texts)
ERR_MISSING_AUTH = "Missing authorization header."
ERR_BAD_AUTH = "Invalid authorization header."
ERR_BAD_SESSION = "Invalid session token."
ERR_BAD_UPDATE_TOKEN = "Invalid update token."
ERR_NO_SESSION = "This request needs a session token from session/initialize."

# session/initialize
ERR_BAD_TOKEN = "Invalid token"
ERR_EMAIL_DOMAIN = "You must use an e-mail address of {domains}"
ERR_NO_IDENTITY = "Send an ID token as token, or sign in through JupyterHub"
ERR_BAD_DEVICE_TYPE = "device_type must be one of ANDROID, IOS, WEB"
ERR_ISSUER_NOT_CONFIGURED = "No identity provider is configured for device_type {device_type}"
ERR_IDP_UNREACHABLE = "The identity provider's keys cannot be fetched; try again later"

# request shape
ERR_BAD_JSON = "The body must be a JSON object"
ERR_NOT_TEXT = "{name} must be a string"
ERR_TOO_LONG = "{name} must be at most {n} characters"
ERR_BAD_CHARACTER = "{name} contains a character that cannot be stored (NUL or a lone surrogate)"

# users
ERR_MISSING_DEVICE_TOKEN = "Must provide device token."
ERR_DEVICE_BUSY = "This device token is being registered by another session; try again"
ERR_BAD_NOTIFICATION = "notification must be one of ANDROID, IOS, WEB, EMAIL, NONE"
ERR_MISSING_SUBSCRIPTION = (
    "WEB needs subscription: the browser's PushSubscription"
    ' {"endpoint", "keys": {"p256dh", "auth"}}'
)
ERR_BAD_SUBSCRIPTION = "subscription must be a PushSubscription: {reason}"
ERR_NO_EMAIL = "EMAIL needs an e-mail address: send email"
ERR_BAD_STATUSES = "statuses must be a non-empty list of OPEN, CLOSED, WAITLISTED"

# sections and courses (the seed's texts)
ERR_MISSING_CATALOG_NUM = "Must provide catalog number."
ERR_BAD_CATALOG_NUM = "Catalog number is not valid."
ERR_ALREADY_TRACKING = "You are already tracking this section."
ERR_NOT_TRACKING = "You aren't tracking this section."
ERR_MISSING_QUERY = "Must provide query."
ERR_COURSE_NOT_FOUND = "Course not found."
ERR_NOT_FOUND = "Not found."
ERR_BAD_COURSE_ID = "Course id is not valid."
