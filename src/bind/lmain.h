/* The Lua state the binary runs its Lua side in; callable without lua.h. */
#ifndef KTSTR_LMAIN_H
#define KTSTR_LMAIN_H

/*
 * Runs require(mod).main(argv...) in a fresh state with ktstr.core loaded
 * and returns its integer result: 2 on a Lua error, 128 + signo when a
 * signal interrupted it.
 */
int lmain_run(const char *mod, int argc, char **argv);

#endif
