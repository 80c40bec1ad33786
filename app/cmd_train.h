/* cmd_train: `logitlab train` (a new model) and `logitlab finetune` (an
 * existing one) on the CPU; options in the cli_specs (see --help). */
#ifndef CMD_TRAIN_H
#define CMD_TRAIN_H

/* argv[0] is the command name; return the process exit status. */
int cmd_train(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
#endif
