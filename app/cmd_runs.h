/* cmd_runs: `logitlab runs`: the runs of a workspace as a table. */
#ifndef CMD_RUNS_H
#define CMD_RUNS_H

/* argv[0] is "runs"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_runs(int argc, char **argv);
#endif
