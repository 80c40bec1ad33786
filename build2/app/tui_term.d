build2/app/tui_term.o: app/tui_term.c app/tui_term.h app/canvas.h \
 app/keys.h app/palette.h app/pane.h
app/tui_term.h:
app/canvas.h:
app/keys.h:
app/palette.h:
app/pane.h:
