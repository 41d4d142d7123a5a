"""English dates and times as Registru shows them: day first and 24-hour clock, as in Romania
where it is used, and the month by name so that no date reads two ways ("30 Nov 2026, 14:09",
not "11/30/2026 2:09 p.m."). Input formats stay Django's."""

DATE_FORMAT = "j F Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
