"""How dates and times read on every page in English: the templates name these formats
(`{{ day|date:"DATE_FORMAT" }}`), never a pattern of their own (tests/frontend/test_display.py)."""

DATE_FORMAT = "l j F Y"  # Monday 7 June 2027: a day people act on
DATETIME_FORMAT = "l j F Y, H:i"  # Monday 7 June 2027, 09:30
SHORT_DATE_FORMAT = "j M Y"  # 7 Jun 2027: dates in lists and records
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 7 Jun 2027, 09:30
MONTH_DAY_FORMAT = "l j F"  # Monday 7 June: a day of the weeks ahead
YEAR_MONTH_FORMAT = "F Y"  # June 2027
TIME_FORMAT = "H:i"  # 09:30 (24-hour)
FIRST_DAY_OF_WEEK = 1  # Monday
