# The HTTP front against a hostile local user: strict framing, deadlines, floods while an
# honest client polls, SIGTERM under load, the bounded shutdown, defused CSV (about 60 s).
lingerd_it_test(it_http_front)
set_tests_properties(it_http_front PROPERTIES RUN_SERIAL TRUE TIMEOUT 180)
