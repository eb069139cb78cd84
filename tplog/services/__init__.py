"""Domain operations: fn(session, *, ...) -> plain results.

Services never print, never commit (the command owns the transaction) and never import typer
or rich; they raise tplog.errors.TplogError for anything the user must hear about.
"""
