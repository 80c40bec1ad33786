/* cmd_repl: `logitlab repl`: an interactive Lua prompt with the lab API. */
#ifndef CMD_REPL_H
#define CMD_REPL_H

/* argv[0] is "repl"; returns the process exit status. */
int cmd_repl(int argc, char **argv);
#endif
