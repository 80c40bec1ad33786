build2/core/json.o: core/json.c core/json.h core/utf8.h
core/json.h:
core/utf8.h:
