"""Wire texts of the exchange's errors, byte-identical to ngshare 0.6's."""

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
