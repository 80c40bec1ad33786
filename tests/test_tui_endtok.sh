#!/bin/sh
# The workbench's end tokens (session 14's trial: TinyStories models end a
# story with BOS, and the workbench went on into the next story). The
# default stays EOS only, with a hint where a run draws BOS; :set end_tokens
# bos stops there; the setting comes back with the workspace; a bad list is
# refused. stories260K, seed 1: the run from "Once upon a time" draws BOS as
# its 388th token.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"

WS=$T/ws-default start 220 30 -- --no-lua -p "'Once upon a time'"
see "opens on the model" "stories260K"
key :; keys "set n 400" Enter
key :; keys "set seed 1" Enter
key g
see "the default runs past the BOS" "output 405/405 tokens" 30
see "a hint names the BOS and :set end_tokens bos" "the model emitted <s> (BOS): llama2.c models end a story so; :set end_tokens bos stops there"

WS=$T/ws-end start 220 30 -- --no-lua -p "'Once upon a time'"
see "opens (end tokens)" "stories260K"
key :; keys "set end_tokens story" Enter
see "a bad list is refused" "end_tokens: 'story': not a token (bos, eos, eot, unk or an id)"
key :; keys "set end_tokens bos" Enter
key :; keys "set n 400" Enter
key :; keys "set seed 1" Enter
key g
see "end_tokens bos stops at the BOS" "output 393/393 tokens" 30
see "and says why" "end of text (an end token: :set end_tokens bos)"
not_see "no hint where it stops" "the model emitted <s>"
key q
see "quits" "EXITED 0"
WS=$T/ws-end start 220 30 -- --no-lua
see "reopens" "tree 2 nodes"
key :; keys "set end_tokens" Enter
see "the setting came back with the workspace" "end_tokens = bos"
check_done
