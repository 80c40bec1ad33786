build2/app/loom.o: app/loom.c app/loom.h
app/loom.h:
