# Static checks of server/ db/ api/: cppcheck and the banned-function list (scripts/lint.sh).
add_test(NAME lint COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/lint.sh)
set_tests_properties(lint PROPERTIES TIMEOUT 300)
