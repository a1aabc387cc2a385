-- Prints, as JSON, the syntax group of every character of the files named in $NAS_FILES (run-length encoded per
-- line), and what the syntax file's number patterns match in $NAS_SAMPLES. Run by tests/editors/test_vim_syntax.py.
local result = { files = {}, samples = {} }
for path in string.gmatch(os.getenv("NAS_FILES"), "[^\n]+") do
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  local lines = {}
  for lnum = 1, vim.fn.line("$") do
    local text, runs, prev, count = vim.fn.getline(lnum), {}, nil, 0
    for col = 1, #text do
      local name = vim.fn.synIDattr(vim.fn.synID(lnum, col, 1), "name")
      if name == prev then
        count = count + 1
      else
        if prev ~= nil then table.insert(runs, { prev, count }) end
        prev, count = name, 1
      end
    end
    if prev ~= nil then table.insert(runs, { prev, count }) end
    table.insert(lines, runs)
  end
  result.files[path] = { filetype = vim.bo.filetype, syntax = vim.b.current_syntax or "",
                         commentstring = vim.bo.commentstring, lines = lines }
end
local patterns = vim.fn.json_decode(os.getenv("NAS_PATTERNS"))
for sample in string.gmatch(os.getenv("NAS_SAMPLES"), "[^\n]+") do
  result.samples[sample] = { int = vim.fn.matchstr(sample, patterns.int), float = vim.fn.matchstr(sample, patterns.float) }
end
io.stdout:write(vim.fn.json_encode(result) .. "\n")
vim.cmd("qa!")
