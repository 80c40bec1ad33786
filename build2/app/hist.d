build2/app/hist.o: app/hist.c app/hist.h
app/hist.h:
