build2/core/strmap.o: core/strmap.c core/strmap.h
core/strmap.h:
