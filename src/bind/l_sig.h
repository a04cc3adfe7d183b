/* The one interrupt hook: a signal stops the running Lua code of the state attached here. */
#ifndef KTSTR_L_SIG_H
#define KTSTR_L_SIG_H

#include "lk.h"

/*
 * Makes L (a main thread) the state a SIGINT/SIGTERM/SIGHUP stops, as lua.c
 * does; NULL detaches before the state closes. While core.sigint_catch
 * counts SIGINT, a SIGINT stops only code run under core.sigint_arm.
 */
void l_sig_attach(lua_State *L);

#endif
