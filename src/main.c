/* Entry point: PID 1 becomes the guest init, `ktstr lua` the interpreter, anything else the CLI. */
#include <string.h>
#include <unistd.h>

#include "src/base/sig.h"
#include "src/bind/lmain.h"
#include "src/guest/init.h"

int main(int argc, char **argv)
{
	int rc;

	if (getpid() == 1) {
		rc = init_setup();
		if (rc == 0)
			rc = lmain_run("ktstr.guest.agent", argc - 1, argv + 1);
		init_poweroff(rc);
		return rc;
	}
	sig_setup();
	/* `ktstr lua` enters below the CLI: the guest carries no host/ modules */
	if (argc > 1 && strcmp(argv[1], "lua") == 0)
		return lmain_run("ktstr.interp", argc - 2, argv + 2);
	return lmain_run("ktstr.host.cli", argc - 1, argv + 1);
}
