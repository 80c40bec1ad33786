build2/app/tui.o: app/tui.c app/tui.h app/session.h core/ctx.h \
 app/field.h app/canvas.h app/keys.h app/loom.h app/palette.h core/smp.h \
 app/worker.h app/cli.h lua/lhost.h app/modelpath.h app/pane.h \
 core/store.h app/tui_cmd.h app/tui_cmdline.h app/tui_console.h \
 app/tui_help.h app/tui_inspect.h app/tui_layout.h app/tui_lua.h \
 app/tui_output.h app/tui_prompt.h app/tui_sampler.h app/tui_status.h \
 app/tui_term.h app/tui_tree.h app/tui_ws.h app/vis.h
app/tui.h:
app/session.h:
core/ctx.h:
app/field.h:
app/canvas.h:
app/keys.h:
app/loom.h:
app/palette.h:
core/smp.h:
app/worker.h:
app/cli.h:
lua/lhost.h:
app/modelpath.h:
app/pane.h:
core/store.h:
app/tui_cmd.h:
app/tui_cmdline.h:
app/tui_console.h:
app/tui_help.h:
app/tui_inspect.h:
app/tui_layout.h:
app/tui_lua.h:
app/tui_output.h:
app/tui_prompt.h:
app/tui_sampler.h:
app/tui_status.h:
app/tui_term.h:
app/tui_tree.h:
app/tui_ws.h:
app/vis.h:
