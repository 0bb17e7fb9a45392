# Least privilege: lingerd under setpriv as nobody with exactly the two capabilities, one, or none.
lingerd_it_test(it_privilege)
