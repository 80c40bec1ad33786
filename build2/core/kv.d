build2/core/kv.o: core/kv.c core/kv.h
core/kv.h:
