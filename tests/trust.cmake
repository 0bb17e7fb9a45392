# Answers that stay true: rollups equal their snapshot rows across restarts and failed
# commits (it_history), and the database file's bad days: corruption moved aside, other
# errors left alone and named, a deleted file noticed and replaced (it_database).  Both
# preload tests/shim/faultshim.c (tests/faults.cmake builds it).
foreach(t it_history it_database)
  lingerd_it_test(${t})
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
               "LINGERD_FAULTSHIM=$<TARGET_FILE:faultshim>")
endforeach()
