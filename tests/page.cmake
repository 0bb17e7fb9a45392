# The page at 3 a.m.: headline, staleness, ?lang=, the phone, axe-core and layout shift, in Debian's
# headless chromium (playwright-core and axe-core from tests/dashboard's lockfile). Needs
# scripts/deps-web.sh.
lingerd_it_test(it_page)
# One browser at a time on two cores, with it_dashboard and it_hostile_names.
set_tests_properties(it_page PROPERTIES TIMEOUT 240 RESOURCE_LOCK chromium)
# The README's curl examples against a live lingerd and the lab: each example's shape is the API's.
lingerd_it_test(it_readme)
set_tests_properties(it_readme PROPERTIES TIMEOUT 120)
