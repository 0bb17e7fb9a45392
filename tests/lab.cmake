# Socket-state lab: every observable TCP state held for real, checked against ss.
lingerd_it_test(it_lab)
