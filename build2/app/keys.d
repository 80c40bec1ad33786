build2/app/keys.o: app/keys.c app/keys.h app/vis.h
app/keys.h:
app/vis.h:
