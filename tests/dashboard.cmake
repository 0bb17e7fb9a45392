# Dashboard: the embedded page in Debian's headless chromium (playwright-core from npm) against
# lingerd and the lab in a private network namespace. Needs scripts/deps-web.sh.
lingerd_it_test(it_dashboard)
set_tests_properties(it_dashboard PROPERTIES TIMEOUT 180)
