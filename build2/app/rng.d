build2/app/rng.o: app/rng.c app/rng.h
app/rng.h:
