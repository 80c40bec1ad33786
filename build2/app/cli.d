build2/app/cli.o: app/cli.c app/cli.h core/json.h core/utf8.h
app/cli.h:
core/json.h:
core/utf8.h:
