"""Per-tier playbooks (moved from lib/playbooks.py; split into modules in the next commit)."""

from lib.playbooks.content import *  # noqa: F403
from lib.playbooks.content import __all__  # noqa: F401
