build2/app/tokwrap.o: app/tokwrap.c app/tokwrap.h app/vis.h
app/tokwrap.h:
app/vis.h:
