" pbtnas search spaces. `setfiletype` here runs before Vim's fallback rules, which would call a `#`-commented file
" `conf`.
autocmd BufRead,BufNewFile *.nas setfiletype nas
