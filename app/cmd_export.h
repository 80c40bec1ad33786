/* cmd_export: `logitlab export`: a workspace's runs, records and metrics as
 * JSON Lines or CSV (core/store.h has the formats). */
#ifndef CMD_EXPORT_H
#define CMD_EXPORT_H

/* argv[0] is "export"; returns the process exit status (CLI_OK, CLI_FAIL, CLI_USAGE). */
int cmd_export(int argc, char **argv);
#endif
