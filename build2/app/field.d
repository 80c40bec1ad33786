build2/app/field.o: app/field.c app/field.h app/canvas.h app/keys.h \
 app/palette.h app/vis.h
app/field.h:
app/canvas.h:
app/keys.h:
app/palette.h:
app/vis.h:
