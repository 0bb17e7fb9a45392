/* log.h - one-line messages on stderr, for the process boundary (main, sampler, handlers). */
#ifndef LINGERD_LOG_H
#define LINGERD_LOG_H

/* Logs "lingerd: <message>". */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs "lingerd: <message>: <strerror(-err)>"; err is a -errno value, or 0 for no reason. */
void log_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Silences log_info (errors still print); used by --once and the tests' quiet mode. */
void log_set_quiet(int quiet);

#endif
