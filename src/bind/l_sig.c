/* ktstr.core bindings of src/base/sig.c, and the one hook that stops Lua code on a signal. */
#include <signal.h>
#include <stddef.h>

#include "src/base/sig.h"
#include "l_sig.h"

#define L_SIG_MASK	(LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT)

/* What a signal stops: the attached state; a counted SIGINT only the armed one. */
static lua_State *l_sig_main;
static lua_State *volatile l_sig_armed;

/*
 * As lua.c's lstop: clear the hook, then raise in the running code; without
 * a position, which would name whatever function the hook caught (the
 * traceback shows where the code was).
 */
static void l_sig_stop(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	lua_pushliteral(L, "interrupted");
	lua_error(L);
}

/* From the signal handler: lua_sethook is the one call lua.c makes there too. */
static void l_sig_on_signal(int signo, int counted)
{
	lua_State *L = counted ? l_sig_armed : l_sig_main;

	(void)signo;
	if (L)
		lua_sethook(L, l_sig_stop, L_SIG_MASK, 1);
}

void l_sig_attach(lua_State *L)
{
	l_sig_main = L;
	sig_set_hook(L ? l_sig_on_signal : NULL);
}

/* core.sigint_catch(on) -> true | nil, err, code: SIGINT counts instead of aborting ktstr */
static int l_sigint_catch(lua_State *L)
{
	return lk_result(L, sig_sigint_catch(lua_toboolean(L, 1)), "sigaction", "SIGINT");
}

/* core.sigint_count() -> the number of SIGINTs caught so far */
static int l_sigint_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)sig_sigint_count());
	return 1;
}

/*
 * core.sigint_arm(on): while armed, a caught SIGINT raises "interrupted" in
 * the running Lua code at its next call, return or instruction. Disarming
 * also drops a stop that has not fired yet.
 */
static int l_sigint_arm(lua_State *L)
{
	if (lua_toboolean(L, 1)) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
		l_sig_armed = lua_tothread(L, -1);
		lua_pop(L, 1);
	} else if (l_sig_armed) {
		lua_State *M = l_sig_armed;

		l_sig_armed = NULL;
		lua_sethook(M, NULL, 0, 0);
	}
	return 0;
}

/* core.signal_pending() -> signo | nil: the SIGINT/SIGTERM/SIGHUP that came, if one did */
static int l_signal_pending(lua_State *L)
{
	int signo = sig_pending();

	if (!signo)
		return 0;
	lua_pushinteger(L, signo);
	return 1;
}

static const luaL_Reg sig_funcs[] = {
	{ "sigint_catch", l_sigint_catch },
	{ "sigint_count", l_sigint_count },
	{ "sigint_arm", l_sigint_arm },
	{ "signal_pending", l_signal_pending },
	{ NULL, NULL },
};

LK_MODULE(sig, sig_funcs, NULL)
