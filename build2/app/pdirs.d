build2/app/pdirs.o: app/pdirs.c app/pdirs.h
app/pdirs.h:
