"""Working days and deadlines: the Swedish calendars, the deadline policies and how timely a case was."""
