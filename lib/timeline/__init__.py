"""The 13-week execution plan (moved from lib/timeline.py; split into modules in the next commit)."""

from lib.timeline.model import *  # noqa: F403
