"""Growth Planner's logic: pure, typed, Streamlit-free modules (``lib.ui`` excepted).

Pages and the CLI call these functions; nothing here knows about widgets.
"""
