"""British English reads dates as English does here (config/formats/en)."""

from config.formats.en.formats import *  # noqa: F403
