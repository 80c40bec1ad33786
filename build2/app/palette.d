build2/app/palette.o: app/palette.c app/palette.h
app/palette.h:
