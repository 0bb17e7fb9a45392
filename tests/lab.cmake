# Socket-state lab: every observable TCP state held for real, checked against ss; what its
# linger and reuseaddr demonstrations teach, checked against the kernel's counters and ss; the
# demo beside a running lingerd.
lingerd_it_test(it_lab)
lingerd_it_test(it_lab_teach)
lingerd_it_test(it_lab_demo)
