build2/app/cmd_runs.o: app/cmd_runs.c app/cmd_runs.h app/cli.h \
 core/store.h
app/cmd_runs.h:
app/cli.h:
core/store.h:
