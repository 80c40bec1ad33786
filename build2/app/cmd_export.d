build2/app/cmd_export.o: app/cmd_export.c app/cmd_export.h app/cli.h \
 core/store.h
app/cmd_export.h:
app/cli.h:
core/store.h:
