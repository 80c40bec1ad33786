build2/app/modelpath.o: app/modelpath.c app/modelpath.h
app/modelpath.h:
