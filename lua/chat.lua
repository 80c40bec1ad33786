-- chat.lua: lab.chat.format and lab.chat.detect. Chat templates are Jinja
-- programs; instead of a Jinja interpreter we recognise the three families
-- by their content and render each one here, honouring the features the
-- template text shows (add_generation_prompt, trim, bos_token, a default
-- system prompt). Anything else is refused with a clear error rather than
-- rendered wrongly.
local lab, priv = ...
local type, error, ipairs = type, error, ipairs
local string_format, table_concat = string.format, table.concat

local chat = {}
lab.chat = chat

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function has(t, s)
  return t:find(s, 1, true) ~= nil
end

-- lab.chat.detect(template) -> "llama3" | "llama2" | "chatml" | nil, why
function chat.detect(template)
  if type(template) ~= "string" then error("bad argument #1 to 'detect' (string expected)", 2) end
  if has(template, "<|start_header_id|>") then
    if has(template, "Cutting Knowledge Date") or has(template, "ipython") then
      return nil, "a Llama 3.1+ template with tools and dates (not supported; pass opts.template)"
    end
    return "llama3"
  end
  if has(template, "<|im_start|>") then return "chatml" end
  if has(template, "[INST]") then return "llama2" end
  return nil, "not a Llama 2 ([INST]), Llama 3 (<|start_header_id|>) or ChatML (<|im_start|>) template"
end

local function render_llama3(tmpl, msgs, gen, bos)
  local do_trim = tmpl:find("|%s*trim") ~= nil
  local use_bos = has(tmpl, "bos_token")
  local out = {}
  for i, m in ipairs(msgs) do
    local c = do_trim and trim(m.content) or m.content
    local s = "<|start_header_id|>" .. m.role .. "<|end_header_id|>\n\n" .. c .. "<|eot_id|>"
    if i == 1 and use_bos then s = bos .. s end
    out[#out + 1] = s
  end
  -- a template that never mentions add_generation_prompt always appends it
  if gen or not has(tmpl, "add_generation_prompt") then
    out[#out + 1] = "<|start_header_id|>assistant<|end_header_id|>\n\n"
  end
  return table_concat(out)
end

local function render_chatml(tmpl, msgs, gen)
  local out = {}
  if msgs[1] and msgs[1].role ~= "system" then
    local default = tmpl:match("<|im_start|>system\\n(.-)<|im_end|>")
    if default and has(tmpl, "!= 'system'") then
      out[1] = "<|im_start|>system\n" .. default .. "<|im_end|>\n"
    end
  end
  for _, m in ipairs(msgs) do
    out[#out + 1] = "<|im_start|>" .. m.role .. "\n" .. m.content .. "<|im_end|>\n"
  end
  if gen then out[#out + 1] = "<|im_start|>assistant\n" end
  return table_concat(out)
end

local function render_llama2(msgs, bos, eos)
  local sys, first = nil, 1
  if msgs[1] and msgs[1].role == "system" then sys, first = msgs[1].content, 2 end
  local out = {}
  for i = first, #msgs do
    local m, k = msgs[i], i - first
    if (m.role == "user") ~= (k % 2 == 0) then
      return nil, "Llama 2 chat: roles must alternate user/assistant/user/... after an optional system message"
    end
    local c = m.content
    if k == 0 and sys then c = "<<SYS>>\n" .. sys .. "\n<</SYS>>\n\n" .. c end
    if m.role == "user" then
      out[#out + 1] = bos .. "[INST] " .. trim(c) .. " [/INST]"
    else
      out[#out + 1] = " " .. trim(c) .. " " .. eos
    end
  end
  return table_concat(out)
end

local function check_messages(msgs)
  if type(msgs) ~= "table" then error("bad argument #2 to 'format' (a list of messages expected)", 3) end
  for i, m in ipairs(msgs) do
    if type(m) ~= "table" or type(m.role) ~= "string" or type(m.content) ~= "string" then
      error(string_format("bad argument #2 to 'format' (message %d must be {role=string, content=string})", i), 3)
    end
  end
end

-- lab.chat.format(model, messages [, {add_generation_prompt=false,
--   template=, bos_token=, eos_token=}]) -> text | nil, err
-- model may be nil when opts.template is given.
function chat.format(model, messages, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #3 to 'format' (table expected)", 2) end
  check_messages(messages)
  local info = model and model:info() or {}
  local tmpl = opts.template or info.chat_template
  if tmpl == nil then
    return nil, "the model has no chat template (pass {template = ...})"
  end
  if type(tmpl) ~= "string" then error("bad argument #3 to 'format' (template must be a string)", 2) end
  local bos = opts.bos_token or info.bos_text or ""
  local eos = opts.eos_token or info.eos_text or ""
  local kind, why = chat.detect(tmpl)
  if not kind then return nil, "cannot render this chat template: " .. why end
  local gen = opts.add_generation_prompt == true
  if kind == "llama3" then return render_llama3(tmpl, messages, gen, bos) end
  if kind == "chatml" then return render_chatml(tmpl, messages, gen) end
  return render_llama2(messages, bos, eos)
end

