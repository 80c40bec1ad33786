build2/app/cmd_repl.o: app/cmd_repl.c app/cmd_repl.h app/cli.h \
 app/cmd_run.h lua/lhost.h core/store.h
app/cmd_repl.h:
app/cli.h:
app/cmd_run.h:
lua/lhost.h:
core/store.h:
