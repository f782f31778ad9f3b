"""Browser tests (Playwright + Debian's Chromium) of the running app; a package so its module names cannot clash with tests/."""
