/* top.c - `lingerd top`: the status screen redrawn in place, with plain ANSI escapes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "limits.h"
#include "screen.h"
#include "util.h"

/* Alternate screen and hidden cursor on the way in; the reverse on the way out. */
#define ENTER "\033[?1049h\033[?25l"
#define LEAVE "\033[?25h\033[?1049l"
#define MAX_FINDINGS_SHOWN 4

/* Set by the signal handlers, read by the loop: the only state shared with them. */
static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t resized;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static int write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Writes the screen text (lines ending in '\n') from the top-left corner, each line cut to
 * cols columns (escape sequences take none) and cleared to its end, at most rows lines, and
 * clears what is below: no flicker from a full clear, no wrap that would scroll the screen.
 */
static int paint(const char *text, int rows, int cols)
{
	size_t cap = strlen(text) + (size_t)rows * 8 + 64, len = 0;
	char *out = malloc(cap);
	const char *p = text;
	int row = 0, err;

	if (!out)
		return -ENOMEM;
	memcpy(out, "\033[H", 3);
	len = 3;
	while (*p && row < rows) {
		int col = 0;
		const char *eol = strchr(p, '\n');

		if (!eol)
			eol = p + strlen(p);
		while (p < eol) {
			if (*p == '\033') {
				/* CSI: copied whole, zero width. */
				const char *q = p + 1;

				if (*q == '[')
					for (q++; q < eol && !(*q >= 0x40 && *q <= 0x7e); q++)
						;
				if (q < eol)
					q++;
				memcpy(out + len, p, (size_t)(q - p));
				len += (size_t)(q - p);
				p = q;
				continue;
			}
			if (((unsigned char)*p & 0xc0) != 0x80) {
				if (col == cols) {
					/* Past the edge: skip the character with its continuation bytes. */
					for (p++; p < eol && ((unsigned char)*p & 0xc0) == 0x80;
					     p++)
						;
					continue;
				}
				col++;
			}
			out[len++] = *p++;
		}
		memcpy(out + len, "\033[0m\033[K", 7);
		len += 7;
		if (++row < rows)
			out[len++] = '\n';
		p = *eol ? eol + 1 : eol;
	}
	memcpy(out + len, "\033[J", 3);
	len += 3;
	err = write_all(out, len);
	free(out);
	return err;
}

static void term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* One frame: the status screen fitted to the terminal, or what went wrong asking for it. */
static char *frame(const struct client *c, double min_age, const struct screen_style *st, int rows,
		   double refresh)
{
	static const char *const keys = "c/a/g sort by count/age/growth  r redraw  q quit";
	struct screen v;
	struct screen_style fit = *st;
	char *text = NULL, why[320], clock[16];
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f = open_memstream(&text, &len);
	int err;

	if (!f)
		return NULL;
	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	err = screen_fetch(c, min_age, &v, why, sizeof(why));
	if (err < 0) {
		fprintf(f, "lingerd top  %s  every %gs  %s\n\n", clock, refresh, keys);
		fprintf(f, "%scannot ask the daemon at %s:%s ", st->color ? "\033[1;31m" : "",
			c->url, st->color ? "\033[0m" : "");
		screen_put_text(f, why[0] ? why : util_strerror(-err));
		fprintf(f, "\nretrying every %gs\n", refresh);
	} else {
		/* The offenders get the rows the rest leaves: a 24-row terminal still shows a few. */
		fit.max_findings = MAX_FINDINGS_SHOWN;
		fit.max_offenders = rows > 22 ? (size_t)rows - 22 : 1;
		fprintf(f, "lingerd top  %s  every %gs  %s\n", clock, refresh, keys);
		screen_render(f, c, &v, &fit);
		screen_free(&v);
	}
	fclose(f);
	return text;
}

int cli_top(const struct client *c, double min_age, double refresh, int sort)
{
	struct screen_style st = { .sort = (enum screen_sort)sort };
	struct termios saved, raw;
	struct sigaction sa = { 0 };
	const char *nc = getenv("NO_COLOR");
	int rc = 0, rows, cols;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "lingerd top: needs a terminal; use lingerd status for a pipe\n");
		return CLI_EXIT_USAGE;
	}
	st.color = !(nc && nc[0]);
	if (tcgetattr(STDIN_FILENO, &saved) < 0) {
		fprintf(stderr, "lingerd top: cannot read the terminal's settings: %s\n",
			util_strerror(errno));
		return CLI_EXIT_USAGE;
	}
	/* Keys one at a time without echo; ISIG stays, so ^C still interrupts. */
	raw = saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	write_all(ENTER, strlen(ENTER));
	while (!stop_sig) {
		struct timespec t0, t1;
		char *text;
		int redraw = 0;

		term_size(&rows, &cols);
		text = frame(c, min_age, &st, rows, refresh);
		if (!text || paint(text, rows, cols) < 0) {
			free(text);
			rc = CLI_EXIT_UNAVAILABLE;
			break;
		}
		free(text);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* Wait out the interval, reading keys as they come. */
		while (!stop_sig && !redraw && !resized) {
			struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
			double left;
			char key;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			left = refresh - ((double)(t1.tv_sec - t0.tv_sec) +
					  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
			if (left <= 0)
				break;
			if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
				continue;
			if (read(STDIN_FILENO, &key, 1) != 1) {
				/* The terminal went away. */
				stop_sig = SIGHUP;
				break;
			}
			switch (key) {
			case 'q':
			case 'Q':
				stop_sig = -1;
				break;
			case 'c':
				st.sort = SCREEN_SORT_COUNT;
				redraw = 1;
				break;
			case 'a':
				st.sort = SCREEN_SORT_AGE;
				redraw = 1;
				break;
			case 'g':
				st.sort = SCREEN_SORT_GROWTH;
				redraw = 1;
				break;
			case 'r':
			case '\f': /* ^L */
				redraw = 1;
				break;
			default:
				break;
			}
		}
		resized = 0;
	}
	write_all(LEAVE, strlen(LEAVE));
	tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return rc;
}
