build2/app/tui_layout.o: app/tui_layout.c app/tui_layout.h
app/tui_layout.h:
