-- lab.chat: the Llama 3 golden renderings, Llama 2, ChatML, and refusals.
local golden = lab.json.decode(assert(lab.fs.read("golden/chat_examples.json")))
local llama3 = assert(lab.fs.read("golden/chat_template.jinja"))

test("the golden Llama 3 template renders exactly", function()
  check.eq(lab.chat.detect(llama3), "llama3")
  for _, c in ipairs(golden.conversations) do
    for _, gen in ipairs({ true, false }) do
      local want = c["rendered_add_generation_prompt_" .. tostring(gen)]
      local got = check.ok(lab.chat.format(nil, c.messages,
        { template = llama3, bos_token = "<|begin_of_text|>", add_generation_prompt = gen }))
      check.eq(got, want, c.name .. " gen=" .. tostring(gen))
    end
  end
end)

test("a Llama 3 template that honours add_generation_prompt", function()
  local tail = "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
  local at = check.ok(llama3:find(tail, 1, true), "the template ends with the generation prompt")
  local t = llama3:sub(1, at - 1) .. "{% if add_generation_prompt %}" .. tail .. "{% endif %}"
  local msgs = { { role = "user", content = "Hi" } }
  local with = lab.chat.format(nil, msgs, { template = t, bos_token = "<B>", add_generation_prompt = true })
  local without = lab.chat.format(nil, msgs, { template = t, bos_token = "<B>" })
  check.eq(with, "<B><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
  check.eq(without, "<B><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")
end)

local LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
  .. "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
  .. "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
  .. "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
  .. "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"

test("Llama 2 [INST] with a system prompt, using the model's BOS/EOS", function()
  local m = lab.model.open(MODEL, { chat_template = LLAMA2 })
  local got = check.ok(lab.chat.format(m, {
    { role = "system", content = "Be brief." },
    { role = "user", content = " Hi " },
    { role = "assistant", content = "Hello." },
    { role = "user", content = "Bye" },
  }))
  -- strip() applies to the whole first content, system block included (as in Jinja)
  check.eq(got, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\n Hi [/INST] Hello. </s><s>[INST] Bye [/INST]")
  check.fails("must alternate", lab.chat.format(m, { { role = "assistant", content = "x" } }))
end)

local CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
  .. "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

test("ChatML", function()
  local msgs = { { role = "system", content = "S" }, { role = "user", content = "U" } }
  check.eq(lab.chat.format(nil, msgs, { template = CHATML, add_generation_prompt = true }),
    "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n")
  check.eq(lab.chat.format(nil, msgs, { template = CHATML }),
    "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n")
  local qwen = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    .. "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    .. "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
  check.eq(lab.chat.format(nil, { { role = "user", content = "U" } }, { template = qwen }),
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nU<|im_end|>\n")
end)

test("templates it cannot render, and models without one", function()
  local msgs = { { role = "user", content = "U" } }
  check.fails("cannot render this chat template", lab.chat.format(nil, msgs, { template = "{{ messages }}" }))
  check.eq(lab.chat.detect("{{ x }}"), nil)
  local m = lab.model.open(MODEL)
  check.fails("no chat template", lab.chat.format(m, msgs))
  check.fails("Llama 3.1", lab.chat.format(nil, msgs, { template = "<|start_header_id|> Cutting Knowledge Date" }))
end)

test("bad messages raise", function()
  check.raises("list of messages", lab.chat.format, nil, "hi", { template = CHATML })
  check.raises("message 2", lab.chat.format, nil, { { role = "user", content = "a" }, { role = "user" } }, { template = CHATML })
end)

test("rendered text round-trips through the tokenizer", function()
  local m = lab.model.open(MODEL)
  local text = lab.chat.format(nil, { { role = "user", content = "Hi" } }, { template = CHATML })
  local ids = m:tokenize(text, { bos = false })
  check.eq(m:detokenize(ids), text)
end)
