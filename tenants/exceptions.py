from config.errors import Conflict, ValidationFailed


class ClinicSlugTaken(Conflict):
    code = "clinic_slug_taken"
    default_message = "A clinic chain with this slug already exists."


class InvalidClinicData(ValidationFailed):
    """Field errors of a clinic chain; the code stays validation_error like every field error."""


class ClinicStateConflict(Conflict):
    code = "clinic_state_conflict"
