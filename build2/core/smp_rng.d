build2/core/smp_rng.o: core/smp_rng.c core/smp.h
core/smp.h:
