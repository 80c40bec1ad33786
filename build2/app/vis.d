build2/app/vis.o: app/vis.c app/vis.h
app/vis.h:
