build2/core/pool.o: core/pool.c core/pool.h
core/pool.h:
