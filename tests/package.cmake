# Installable and usable like a system tool: the terminal view driven through a terminal
# (tmux), the manual page against --help, the Debian package installed and purged.
lingerd_it_test(it_cli)
lingerd_it_test(it_manpage)
lingerd_it_test(it_package)
