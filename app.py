"""Growth Planner's entry point: registers the pages and routes to them — nothing else.

Why so little: Streamlit may run a page without this file (a cold deep link), so
everything a page needs happens in ``lib.ui.bootstrap``, which every page calls.
Navigation is drawn by the bootstrap too (the built-in menu is hidden), so the
sidebar looks the same however a page was reached. Once a run is over it starts
loading the other pages' libraries in the background (``lib.ui.warm_up_after_run``).
"""

import streamlit as st

from lib.i18n import t
from lib.ui import PAGES, current_lang, warm_up_after_run

lang = current_lang()
pages = [
    st.Page(file, title=t(title_key, lang), url_path=url_path, default=(index == 0))
    for index, (file, url_path, title_key, _icon) in enumerate(PAGES)
]
try:
    st.navigation(pages, position="hidden").run()
finally:  # also after st.stop() / st.rerun(): the page is drawn, the rest of the libraries load behind it
    warm_up_after_run()
