build2/core/adamw.o: core/adamw.c core/adamw.h core/pool.h
core/adamw.h:
core/pool.h:
