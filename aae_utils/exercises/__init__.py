"""The course's exercises, one module per notebook: what each "Your turn" cell asks for, the
cases its check tries, the reference it compares with, and catalogued wrong answers.

The notebooks call :func:`aae_utils.checks.check` with an exercise's name (``"02.reparameterise"``);
the module ``nbNN`` of that notebook is imported on first use. The references live here and not
in the notebooks, so that the answer is not in the cell the learner edits; a learner who opens
these files reads the answers, which is their call to make.

``tests/test_exercises.py`` runs every check against the notebook's own solution (it must pass),
against each catalogued wrong answer (each must fail) and against the student edition's
placeholder (it must say "not done yet").
"""
