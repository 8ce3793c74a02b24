"""What each command's document says (screening, audit, annual report), before the writers in eqia.render."""
