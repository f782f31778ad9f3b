"""Growth Planner's entry point: registers the pages and routes to them — nothing else.

Why so little: Streamlit may run a page without this file (a cold deep link), so
everything a page needs happens in ``lib.ui.bootstrap``, which every page calls.
Navigation is drawn by the bootstrap too (the built-in menu is hidden), so the
sidebar looks the same however a page was reached.
"""

import streamlit as st

from lib.i18n import t
from lib.ui import PAGES, current_lang

lang = current_lang()
pages = [
    st.Page(file, title=t(title_key, lang), url_path=url_path, default=(index == 0))
    for index, (file, url_path, title_key, _icon) in enumerate(PAGES)
]
st.navigation(pages, position="hidden").run()
