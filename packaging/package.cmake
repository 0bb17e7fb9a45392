# packaging/package.cmake - what `cpack -G DEB` puts in lingerd_<version>_<arch>.deb
# (scripts/package.sh runs it).  The version is project(VERSION), nowhere else.
#
# Paths are Debian 12's: units under /lib/systemd/system (bookworm has not moved them to /usr).
set(_pkg ${CMAKE_CURRENT_LIST_DIR})
set(_gen ${CMAKE_BINARY_DIR}/packaging)
# `cmake --install` (which cpack runs) builds nothing, so not the tests and tools either:
# scripts/package.sh builds lingerd and lingerd_package_docs first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# The project names no maintainer address yet: a reserved .invalid one until it does.  Whoever
# builds packages for distribution sets their own (it goes in the control file and changelog).
set(LINGERD_PACKAGE_MAINTAINER "lingerd developers <maintainers@lingerd.invalid>" CACHE STRING
    "Maintainer of the Debian package: Name <address>")

# Generated at configure time: the changelog takes the project's version; documents are
# compressed as Debian policy asks (gzip -9n: no name, no timestamp, so builds are identical).
configure_file(${_pkg}/changelog.in ${_gen}/changelog @ONLY)
find_program(GZIP gzip REQUIRED)
add_custom_command(OUTPUT ${_gen}/changelog.gz
  COMMAND ${GZIP} -9nc ${_gen}/changelog > ${_gen}/changelog.gz
  DEPENDS ${_gen}/changelog VERBATIM)
add_custom_command(OUTPUT ${_gen}/lingerd.8.gz
  COMMAND ${GZIP} -9nc ${CMAKE_BINARY_DIR}/lingerd.8 > ${_gen}/lingerd.8.gz
  DEPENDS lingerd_man ${CMAKE_BINARY_DIR}/lingerd.8 VERBATIM)
add_custom_target(lingerd_package_docs ALL DEPENDS ${_gen}/changelog.gz ${_gen}/lingerd.8.gz)

install(TARGETS lingerd RUNTIME DESTINATION sbin)
install(FILES ${_gen}/lingerd.8.gz DESTINATION share/man/man8)
install(FILES ${_gen}/changelog.gz ${_pkg}/copyright DESTINATION share/doc/lingerd)
install(FILES ${_pkg}/lingerd.bash-completion DESTINATION share/bash-completion/completions
        RENAME lingerd)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/prometheus/alerts.yml
              ${CMAKE_SOURCE_DIR}/contrib/prometheus/alerts_test.yml
        DESTINATION share/lingerd)
install(FILES ${CMAKE_SOURCE_DIR}/contrib/grafana/lingerd.json DESTINATION share/lingerd
        RENAME grafana-dashboard.json)
# Absolute destinations: outside the /usr prefix.
install(FILES ${CMAKE_SOURCE_DIR}/contrib/systemd/lingerd.service
        DESTINATION /lib/systemd/system)
install(FILES ${_pkg}/lingerd.default DESTINATION /etc/default RENAME lingerd)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lingerd)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/cpack)
set(CPACK_PACKAGE_CONTACT "${LINGERD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "watches how TCP connections end on a Linux host")
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "lingerd samples every TCP socket through netlink sock_diag, keeps history in\n"
  "SQLite, attributes sockets that linger in CLOSE_WAIT, FIN_WAIT or TIME_WAIT\n"
  "to the process holding them, and says what to do about it: a JSON API,\n"
  "Prometheus metrics, a dashboard page and a terminal view (lingerd status).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from dpkg-shlibdeps on the installed binary, as debhelper's ${shlibs:Depends}.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_pkg}/postinst ${_pkg}/prerm ${_pkg}/postrm ${_pkg}/conffiles)
include(CPack)
