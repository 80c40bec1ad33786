build2/core/fio.o: core/fio.c core/fio.h
core/fio.h:
