"""Wire texts of the exchange's errors, byte-identical to ngshare 0.6's.

The texts under "Ours" are new (ngshare 0.6 accepted such input, or failed
on it with a 500); see docs/exchange-api.md.
"""

ERR_LOGIN_REQUIRED = "Login required"

ERR_NOT_ADMIN = "Permission denied (not admin)"
ERR_NOT_INSTRUCTOR = "Permission denied (not course instructor)"
ERR_NOT_RELATED = "Permission denied (not related to course)"
ERR_CANNOT_MODIFY_INSTRUCTORS = "Permission denied (cannot modify instructors)"
ERR_CANNOT_MODIFY_OTHER_INSTRUCTORS = "Permission denied (cannot modify other instructors)"

ERR_COURSE_NOT_FOUND = "Course not found"
ERR_COURSE_EXISTS = "Course already exists"
ERR_INSTRUCTOR_NOT_FOUND = "Instructor not found"
ERR_STUDENT_NOT_FOUND = "Student not found"
ERR_ASSIGNMENT_NOT_FOUND = "Assignment not found"
ERR_ASSIGNMENT_EXISTS = "Assignment already exists"
ERR_SUBMISSION_NOT_FOUND = "Submission not found"
ERR_INSTRUCTOR_AS_STUDENT = "Cannot add instructor as student"

ERR_INSTRUCTORS_JSON = "Instructors cannot be JSON decoded"
ERR_STUDENTS_MISSING = "Please supply students"
ERR_STUDENTS_JSON = "Students cannot be JSON decoded"
ERR_STUDENTS_FORMAT = "Incorrect request format"
ERR_FIRST_NAME_MISSING = "Please supply first name"
ERR_LAST_NAME_MISSING = "Please supply last name"
ERR_EMAIL_MISSING = "Please supply email"

ERR_FILES_MISSING = "Please supply files"
ERR_FILES_JSON = "Files cannot be JSON decoded"
ERR_ILLEGAL_PATH = "Illegal path"
ERR_CONTENT_BASE64 = "Content cannot be base64 decoded"

ERR_TIMESTAMP_MISSING = "Please supply timestamp"
ERR_TIMESTAMP_FORMAT = "Time format incorrect"

# Ours: input that ngshare 0.6 accepted or failed on (see docs/exchange-api.md)
ERR_ILLEGAL_COURSE_ID = "Illegal course id"
ERR_ILLEGAL_ASSIGNMENT_ID = "Illegal assignment id"
ERR_ILLEGAL_INSTRUCTOR_ID = "Illegal instructor id"
ERR_ILLEGAL_STUDENT_ID = "Illegal student id"
ERR_ILLEGAL_FIRST_NAME = "Illegal first name"
ERR_ILLEGAL_LAST_NAME = "Illegal last name"
ERR_ILLEGAL_EMAIL = "Illegal email"


def too_many_files(limit: int) -> str:
    """413 text of an upload over ``c.Exchange.max_files_per_upload``."""
    return f"Too many files (at most {limit} per upload)"
