#!/bin/sh
# Finding plugin panes (session 14's trial: ":proxy ... PROMPT" said "run 1"
# and nothing more, the tab strip read "4 6 7 8 ... 16" with no names, and
# no digit reached the panes past 9, the tree plugin's among them). Every
# pane has a number and a name in the strip; :pane lists them and shows one
# by number or name; a plugin command's reply names its pane and the key or
# command that shows it; and nothing moves the focus: keys typed after the
# command go where they went before (here s steps the main output).
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
mkdir -p "$T/plug" && cp "$ROOT"/plugins/*.lua "$T/plug/" && cp -r "$ROOT/plugins/lib" "$ROOT/plugins/tasks" "$T/plug/"

start 240 40 -- --plugins "$T/plug" -p "'Once upon a time'"
see "opens with every plugin" "stories260K"
key Escape
see "the strip (its bottom border, so many) names every pane of the slot, the tree plugin's too" "╰─4tr─6sa─7ag─8ar─9be─10cd─11co─12ne─13ge─14pr─15tr─16tr─"
key :; keys "proxy base=$M expert=$M anti=$M n=8 Once upon a time" Enter
see "the reply names the proxy pane and how to show it" "run 1: proxy pane 14, :pane 14"
key s
see "the focus stayed: s steps the main output" "output 6/6 tokens"
key :; keys "pane" Enter
see_re "the :pane list names them all" "panes: 1 prompt, 2 output, 3 inspector, 4 tree, 5 console, 6 sampler, 7 agents, 8"
key :; keys "pane 14" Enter
see ":pane 14 shows the proxy pane" "─ 14 proxy ─"
key :; keys "pane training" Enter
see ":pane NAME shows a pane by name" "─ 15 training ─"
key :; keys "pane tree" Enter
see "a name two panes share asks for the number" "2 panes are named tree: 4 16 (:pane N)"
key :; keys "pane 16" Enter
see ":pane 16 reaches the tree plugin's pane" "─ 16 tree ─"
key :; keys "pane 99" Enter
see "a pane that is not there" "no pane 99 (:pane lists them)"
check_done
