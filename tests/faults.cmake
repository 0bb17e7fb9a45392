# Fault injection: tests/shim/faultshim.c, preloaded into the daemon, shifts its wall clock and
# fails netlink receives on demand (steered through files at run time).  Built without the
# sanitizers: it only forwards calls, and a preloaded ASan library would have to come first.
add_library(faultshim MODULE ${CMAKE_CURRENT_SOURCE_DIR}/shim/faultshim.c)
target_compile_options(faultshim PRIVATE -fno-sanitize=all)
target_link_options(faultshim PRIVATE -fno-sanitize=all)
target_link_libraries(faultshim PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)

# A followed namespace whose dump fails, and --netns all without CAP_SYS_ADMIN.
lingerd_it_test(it_netns_faults)
set_property(TEST it_netns_faults APPEND PROPERTY ENVIRONMENT
             "LINGERD_FAULTSHIM=$<TARGET_FILE:faultshim>")

# The daemon as a process: habitual signals, closed stdio, --once and Ctrl-C, SIGTERM with a
# frozen disk (a loop-mounted ext4, fsfreeze), a database locked by another connection.
lingerd_it_test(it_process)

# Wall-clock steps (the shim shifts only CLOCK_REALTIME): ages, findings, staleness and
# retention stay true; ages of sockets older than lingerd are marked as lower bounds.
lingerd_it_test(it_time)
set_property(TEST it_time APPEND PROPERTY ENVIRONMENT
             "LINGERD_FAULTSHIM=$<TARGET_FILE:faultshim>")
