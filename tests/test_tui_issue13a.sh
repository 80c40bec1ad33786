#!/bin/sh
# More workbench defects of issue 13, in a real terminal (tmux): the
# workspace's config.lua is read (model, a new session's sampler, the
# plugins to load; a broken one is shown and left out); the inspector keeps
# its columns for a chosen token of any rank (4 and 5 digits here, on a
# 32000-token model); r and R refuse to cut the prompt (the prompt pane
# would no longer match the path); a run a plugin starts is stored with the
# workbench's session; Lua that runs long says so and that Ctrl-C stops it.
. "$(dirname "$0")/check.sh"
. "$(dirname "$0")/tui_lib.sh"
status_line() { screen | tail -1; }

# ---- config.lua: model (relative to the workspace), sampler, plugins ----
W=$T/wsc
mkdir -p "$W/models"
cp "$M" "$W/models/s260.gguf"
cat >"$W/config.lua" <<'LUA'
return {
  model = "models/s260.gguf",
  sampler = { temp = 0.25, top_k = 7, chain = "top_k,temp,dist" },
  plugins = { "example", "nosuch" },
}
LUA
WS=$W MODELARG="" start 100 30 -- --plugins "$ROOT/plugins" -p "'Once upon a time'"
see "the workbench opens on config.lua's model" "s260"
case "$(status_line)" in " s260"*) ok ;; *) bad "the model of config.lua leads the bar: '$(status_line)'" ;; esac
see "a listed plugin that is nowhere is reported" "plugin nosuch"
key :; keys "set temp" Enter
see "a new session starts with config.lua's temp" "temp = 0.25"
key :; keys "set top_k" Enter
see "and its top_k" "top_k = 7"
key :; keys "set order" Enter
see "chain is read as order" "order = top_k,temp,dist"
key :; keys "plugin list" Enter
see "only the listed plugin loads" "1 plugin (listed"

# -m comes first; a reopened session keeps its own settings
WS=$W start 100 30 -- --plugins "$ROOT/plugins" -p "'x'"
see "-m wins over config.lua's model" "stories260K"
key :; keys "set temp" Enter
see "a new session (another model) takes config.lua's settings" "temp = 0.25"

# ---- a broken config.lua is shown and left out; the workbench opens ----
# The workspace is named relative to the pane's folder ($T): the messages
# name it as given, so their length does not depend on $TMPDIR (a long
# TMPDIR wrapped the console line in the middle of the text looked for).
W2=$T/wsb
mkdir -p "$W2"
printf 'return {\n  sampler = { temp = -1 },\n}\n' >"$W2/config.lua"
WS=wsb start 120 30 -- -p "'x'"
see "a bad setting is named" "config.lua: sampler.temp: temperature"
key :; keys "set temp" Enter
see "and left out" "temp = 0.8"
printf 'return {\n  model = ,\n}\n' >"$W2/config.lua"
WS=wsb start 120 30 -- -p "'x'"
see "a syntax error names the file and line" "config.lua:2:"
see "the workbench is usable" "1 prompt"
printf 'return { model = "no-such-model.gguf" }\n' >"$W2/config.lua"
WS=wsb MODELARG="" start 120 30 --
see "a model that cannot be found stops with an error" "EXITED 1"
see "naming config.lua" "config.lua: model no-such-model.gguf"

# ---- the inspector: chosen tokens of rank >= 1000 and >= 10000 at 80 columns ----
SYN=$SH/models/synthetic/synth-A-f16.gguf
MODELARG="-m $SYN" start 80 24 -- -p "'Once'"
see "the synthetic model opens" "synth-A"
key :; keys "set temp 50" Enter
key :; keys "set top_k 0" Enter
key :; keys "set top_p 1" Enter
key :; keys "set min_p 0" Enter
key :; keys "step 12" Enter
see "twelve tokens" "/14 tokens"
key 3
seen4=0; seen5=0; i=0
while [ $i -lt 12 ]; do
  s=$(screen)
  hdr=$(printf '%s\n' "$s" | grep -o 'rank [0-9]*' | head -1 | sed 's/rank //')
  row=$(printf '%s\n' "$s" | grep -E '● *[0-9]+ ' | head -1)
  if [ -n "$hdr" ] && [ "$hdr" -ge 1000 ]; then
    [ ${#hdr} -eq 4 ] && seen4=1
    [ ${#hdr} -eq 5 ] && seen5=1
    # the inspector's rows (right of the output pane): the chosen token's
    # row has the mark, the whole rank, a space, the token
    ins=$(printf '%s\n' "$s" | sed -n 's/.*││//p')
    if printf '%s\n' "$ins" | grep -qE "^● *$hdr '"; then ok; else bad "rank $hdr: the row shows it whole before the token ('$row')"; fi
    # and every row's token starts in the same column
    cols=$(printf '%s\n' "$ins" | grep -E "^[●✗ ] *[0-9]+ '" | while IFS= read -r l; do
      pre=${l%%\'*}; printf '%s' "$pre" | LC_ALL=C.UTF-8 wc -m; done | sort -u | wc -l)
    if [ "$cols" -eq 1 ]; then ok; else bad "rank $hdr: the token column moves between rows"; fi
  fi
  key Left
  i=$((i + 1))
done
if [ $seen4 -eq 1 ] && [ $seen5 -eq 1 ]; then ok; else bad "the run showed a 4-digit and a 5-digit rank (4: $seen4, 5: $seen5)"; fi

# ---- item 20: r into the prompt, runs with their session, the busy line ----
mkdir -p "$T/plug20"
cat >"$T/plug20/runs.lua" <<'LUA'
return { name = "runs", api_level = 1, description = "item 20",
  on_load = function()
    lab.ui.command_add("mkrun", "start and end a run", function()
      local id, run = assert(lab.store.run_begin{ plugin = "mkrun" })
      run:run_end()
      local r = assert(lab.store.query("SELECT session_id AS s FROM runs WHERE id = ?", { id }))
      print("run " .. id .. " session " .. tostring(r[1].s))
    end)
    lab.ui.command_add("spin", "never returns", function() while true do end end)
  end }
LUA
start 100 30 -- --plugins "$T/plug20" -p "'Once upon a time'"
see "started" "1 prompt"
key :; keys "step 3" Enter
see "three tokens" "output 8/8 tokens"
key 2
for k in 1 2 3 4 5; do key Left; done
key r
see "r with the cursor in the prompt is refused" "rewind: the cursor is inside the prompt"
key R
see "so is R" "regenerate: the cursor is inside the prompt"
see "the path is whole" "output 3/8 tokens"
key Right; key Right; key Right
key r
see "r in the generated text rewinds" "output 6/6 tokens"
key :; keys "mkrun" Enter
see "a plugin's run is stored with the workbench's session (the first session of the workspace)" "run 1 session 1"
not_see "no run without its session" "session nil"
key :; keys "spin" Enter
see "long-running Lua says so" "running Lua (runs)"
see "and how to stop it" "Ctrl-C stops it"
key C-c
see "Ctrl-C stops it" "interrupted"
not_see "the busy line goes" "running Lua"

check_done
