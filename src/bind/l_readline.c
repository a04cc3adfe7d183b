/* ktstr.core bindings of libedit for the REPL's prompt: readline, history, isatty. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <editline/readline.h>

#include "src/base/sig.h"
#include "lk.h"

/* core.isatty(fd) -> boolean */
static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

/* core.readline(prompt) -> line | nil (end of input) | false (Ctrl-C) */
static int l_readline(lua_State *L)
{
	const char *prompt = luaL_checkstring(L, 1);
	unsigned long before = sig_sigint_count();
	char *line;

	fflush(stdout);
	line = readline(prompt);
	if (!line) {
		/* libedit hands SIGINT on to our handler and returns NULL, as at EOF */
		if (sig_sigint_count() != before)
			lua_pushboolean(L, 0);
		else
			lua_pushnil(L);
		return 1;
	}
	lua_pushstring(L, line);
	free(line);
	return 1;
}

/*
 * core.stdin_read() -> data | nil (end of input) | false (a signal came
 * first): what a pipe or file on stdin holds next, up to 4 KiB, waiting for
 * it as long as no SIGINT/SIGTERM/SIGHUP comes (a plain read would restart
 * after a counted SIGINT and wait on).
 */
static int l_stdin_read(lua_State *L)
{
	unsigned long before = sig_sigint_count();
	char buf[4096];
	ssize_t n;
	int rc;

	for (;;) {
		rc = sig_wait_readable(0, -1, before);
		if (rc == -EINTR) {
			lua_pushboolean(L, 0);
			return 1;
		}
		if (rc < 0)
			return lk_fail(L, rc, "poll", "stdin");
		n = read(0, buf, sizeof(buf));
		if (n > 0) {
			lua_pushlstring(L, buf, n);
			return 1;
		}
		if (n == 0) {
			lua_pushnil(L);
			return 1;
		}
		if (errno != EINTR && errno != EAGAIN)
			return lk_fail(L, -errno, "read", "stdin");
	}
}

/* core.history_add(line) */
static int l_history_add(lua_State *L)
{
	add_history(luaL_checkstring(L, 1));
	return 0;
}

/* core.history_load(path [, max]) -> true | nil, err, code */
static int l_history_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int rc;

	using_history();
	stifle_history((int)luaL_optinteger(L, 2, 1000));
	rc = read_history(path);
	return lk_result(L, rc ? -(rc > 0 ? rc : EIO) : 0, "read_history", path);
}

/* core.history_save(path) -> true | nil, err, code */
static int l_history_save(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int rc = write_history(path);

	return lk_result(L, rc ? -(rc > 0 ? rc : EIO) : 0, "write_history", path);
}

static const luaL_Reg readline_funcs[] = {
	{ "isatty", l_isatty },
	{ "readline", l_readline },
	{ "stdin_read", l_stdin_read },
	{ "history_add", l_history_add },
	{ "history_load", l_history_load },
	{ "history_save", l_history_save },
	{ NULL, NULL },
};

LK_MODULE(readline, readline_funcs, NULL)
