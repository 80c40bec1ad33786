#!/bin/sh
# Plugin commands in a real terminal (tmux): a mistake in a command's
# arguments (a model or file that is not there) and Ctrl-C in the middle of
# a run end the command with one console line; the plugin, its command and
# its pane go on working. (An error raised out of a command disables its
# plugin: `:tree model=nosuch.gguf` used to take :tree away for the session;
# the same for :agents is w19b's, tested with it.)
# And Ctrl-C stops a foreground lab.train typed in the console (it held the
# workbench, frozen, until its last step).
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
# cmd TEXT: type a command on the command line
cmd() { key :; keys "$1" Enter; }

start 140 40 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "started with the plugins" "stories260K"
key 5
# ---- :tree ----
cmd "tree model=nosuch.gguf"
see "tree: a model that is not there is one console line" "tree: no model file 'nosuch.gguf'"
not_see "the tree plugin is not disabled" "plugin tree failed"
cmd "tree model=$M budget=2"
see "tree: the command still runs" "tree tot-bfs"
not_see "and is known" "unknown command 'tree'"
# Ctrl-C in the middle of a long search: the search ends, the plugin stays.
# The search (best-first over the task's legal moves, valued by the model)
# runs ~20 s on its own, nearly all of it awaiting the engine: Ctrl-C there
# reached no Lua and the search ran on to its end (the check passed anyway
# when a search ended by itself within the wait). Now its lab.await raises
# "plugin tree: interrupted", which the search catches and the console
# shows, and the node count stops.
# running: the status item 'tree tot-best N ▶'
running() { screen | grep -qE 'tree tot-best [0-9]+ ▶'; }
nodes() { screen | grep -oE 'tree tot-best [0-9]+' | tail -1; }
cmd "tree model=$M method=tot-best gen=moves budget=100000 depth=50 difficulty=5"
n=0; while [ $n -lt 100 ] && ! running; do sleep 0.05; n=$((n + 1)); done
if running; then ok; else bad "a long search runs"; fi
sleep 0.5
# three times: the first stops the search (in its Lua or in its await); the
# others land while nothing runs or in an event handler, which must not
# disable the plugin either
keys C-c; sleep 0.1; keys C-c; sleep 0.1; keys C-c
see "Ctrl-C says so" "interrupted (Ctrl-C)" 10
see "Ctrl-C stopped the search itself (not its end)" "tree: plugin tree: interrupted" 5
if running; then bad "the status item says the search runs no more"; else ok; fi
a=$(nodes); sleep 1; b=$(nodes)
if [ -n "$a" ] && [ "$a" = "$b" ]; then ok; else bad "the node count stopped ($a, then $b)"; fi
not_see "the tree plugin is not disabled by Ctrl-C" "plugin tree failed"
cmd "tree model=$M budget=2"
if wait_for "unknown command 'tree'" 2; then bad "the tree command is there after Ctrl-C"; else ok; fi
# ---- the console: a foreground lab.train (C, no Lua instructions for the hook to count) ----
key 5; key i
keys "m = lab.model.open('$M'); r, e = lab.train{model = m, output = 'z.gguf', steps = 100000, batch = 2, seq_len = 32, threads = 1, texts = {'Once upon a time there was a dog.'}}" Enter
see "the status line says Lua runs and Ctrl-C stops it" "Ctrl-C stops it" 20
keys C-c
see "Ctrl-C stops the training (the workbench held until its last step)" "script: interrupted" 20
keys "print('after' .. 'wards')" Enter
see "the console runs Lua again" "afterwards" 10
check "the stopped run kept its checkpoint" test -f "$T/ws-$N/train/z.gguf.ckpt"
key Escape
cmd "q!"
see "quits" "EXITED 0"

# ---- a crash in the workbench is reported on the ordinary screen ----
# (the workbench's own handler gave the terminal back and died without
# app/main.c's report: only the shell's "Segmentation fault"); cooked mode
# again, so each stack line starts at column 0. ASAN builds: the sanitizer's.
start 100 30
see "the workbench runs" "stories260K"
kill -SEGV "$(app_pid)"
see "the crash ends it" "EXITED" 20
case "$BUILD" in
  *asan*) see "the sanitizer's report is on the screen" "AddressSanitizer" 5 ;;
  *) see "the report is on the screen" "logitlab: fatal signal 11 (a bug" 5
     if screen | grep -q '^/.*logitlab(+0x[0-9a-f]*)'; then ok; else bad "the stack lines start at column 0"; fi ;;
esac

# ---- an assert() failing in the workbench: its message is on the ordinary screen ----
# (assert writes to stderr, then aborts; under the alternate screen the
# message vanished when the terminal was given back.) The same two steps
# from outside: a line written to the process's stderr, then SIGABRT.
start 100 30
see "the workbench runs (assert case)" "stories260K"
pid=$(app_pid)
printf 'logitlab: app/tui.c:1: tui_run: Assertion `0 && "a test"'"'"' failed.\n' >>"/proc/$pid/fd/2"
sleep 0.3
kill -ABRT "$pid"
see "the abort ends it" "EXITED 134" 20
see "the assert's message is on the ordinary screen" 'Assertion `0 && "a test"'"'"' failed.' 5
if screen | grep -q '^logitlab: app/tui.c:1: tui_run: Assertion'; then ok; else bad "the message starts at column 0 (cooked mode)"; fi
check_done
