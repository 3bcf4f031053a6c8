from config.errors import ValidationFailed


class InvalidPatient(ValidationFailed):
    """Field errors of a patient record."""
