build2/app/cmd_run.o: app/cmd_run.c app/cmd_run.h app/cli.h lua/lhost.h \
 app/pdirs.h core/store.h
app/cmd_run.h:
app/cli.h:
lua/lhost.h:
app/pdirs.h:
core/store.h:
