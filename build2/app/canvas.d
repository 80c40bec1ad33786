build2/app/canvas.o: app/canvas.c app/canvas.h app/vis.h
app/canvas.h:
app/vis.h:
