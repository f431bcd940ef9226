"""Wire texts of Ekatra's errors: the ``message`` of ``{"message": ...}``.

Where the original server had a message for the same case, its text is kept.
"""

# request shape
ERR_BAD_JSON = "Request is missing the required fields"
ERR_NOT_OBJECT = "The body must be a JSON object"
ERR_FIELDS = "Fields not filled"
ERR_MISSING = "{name} is required"
ERR_NOT_TEXT = "{name} must be a string"
ERR_BLANK = "{name} must not be blank"
ERR_TOO_LONG = "{name} must be at most {n} characters"
ERR_BAD_CHARACTER = "{name} contains a character that cannot be stored (NUL or a lone surrogate)"
ERR_NOT_LIST = "{name} must be a list of objects"
ERR_TOO_MANY = "{name} may have at most {n} items"
ERR_NOT_BOOL = "{name} must be true or false"
ERR_BAD_ID = "Invalid {what} id"
ERR_UNKNOWN_FIELD = "Unknown field: {name}"
ERR_NOTHING_TO_CHANGE = "Nothing to change"

# accounts
ERR_LOGIN_REQUIRED = "Missing Authorization Header"
ERR_BAD_LOGIN = "Either email or password is incorrect"
ERR_EMAIL_EXISTS = "User with email {email} already exists"
ERR_BAD_EMAIL = "email must be an e-mail address"
ERR_PASSWORD_MISMATCH = "Password not matched!!"
ERR_BAD_RESET_TOKEN = "Invalid token"
ERR_FORGOT_SENT = "If an account with this e-mail exists, a reset link has been sent to it"

# lookups (404)
ERR_NOT_FOUND = "Not found"
ERR_COURSE_NOT_FOUND = "Course not found!!"
ERR_DAY_NOT_FOUND = "Day not found!!"
ERR_QUESTION_NOT_FOUND = "Question not found!!"
ERR_GROUP_NOT_FOUND = "Group not found!!"
ERR_STUDENT_NOT_FOUND = "Student not found"
ERR_DELIVERY_NOT_FOUND = "Delivery not found!!"

# learners
ERR_BAD_PHONE = "number must be a phone number with its country code, e.g. +919380169981"
ERR_BAD_CHANNEL = "channel must be sms or whatsapp"
ERR_BAD_TIMEZONE = "timezone must be an IANA time zone name, e.g. Asia/Kolkata"
ERR_DUPLICATE_NUMBER = "number {number} appears twice in the group"

# deliveries
ERR_BAD_SCHEDULE = "schedule_at must be YYYY-MM-DD HH:MM[:SS]"
ERR_NONEXISTENT_TIME = "schedule_at does not exist in {tz} (a daylight-saving gap)"
ERR_EMPTY_COURSE = "The course has no days"
ERR_EMPTY_GROUP = "The group has no students"
ERR_BAD_ACTION = "action must be PAUSE, RESUME or STOP"
ERR_LOCKED = "The {what} '{name}' cannot be changed or deleted while delivery {ids} uses it"
ERR_ALREADY = "The delivery is already {status}"
ERR_FINISHED = "The delivery is {status}; it cannot be paused or resumed"

# webhook
ERR_WEBHOOK_REFUSED = "Refused"
