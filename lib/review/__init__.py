"""The quarter's review story (moved from lib/review_pack.py; split into modules in the next commit)."""

from lib.review.story import *  # noqa: F403
from lib.review.story import __all__  # noqa: F401
