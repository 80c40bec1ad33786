/* cmd_bench: `logitlab bench`: prefill and decode throughput through ctx.
 * The subcommand's options are described by its cli_spec (see --help). */
#ifndef CMD_BENCH_H
#define CMD_BENCH_H

/* argv[0] is "bench"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_bench(int argc, char **argv);
#endif
