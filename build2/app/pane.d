build2/app/pane.o: app/pane.c app/pane.h app/canvas.h app/keys.h
app/pane.h:
app/canvas.h:
app/keys.h:
