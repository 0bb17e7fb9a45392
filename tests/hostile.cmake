# Hostile process and namespace names through every answer: JSON, CSV, /metrics (promtool) and
# the page (headless chromium, playwright-core from tests/dashboard).
lingerd_it_test(it_hostile_names)
# Both browser tests share tests/dashboard/node_modules and two cores: one at a time.
set_tests_properties(it_hostile_names it_dashboard PROPERTIES RESOURCE_LOCK chromium)
