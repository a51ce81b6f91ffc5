"""The dispatcher evaluation: ``logistics-copilot eval TASKS --worlds DIR --report OUT.json``.

Implements ``../shared/eval/README.md``. For every task (and every repeat):

1. a fresh store: a SQLite file in a new temporary directory, migrated, with the task's world imported
   from ``DIR/<world>``;
2. the ``setup`` steps through the project's own non-LLM tools: ``{"do": "plan"}`` plans the day with
   the default :class:`~tools.planning.PlanSettings` (the defaults of ``logistics-copilot plan``) via
   :func:`tools.lifecycle.plan_day` and commits that draft with :func:`tools.lifecycle.approve_plan`;
   ``{"do": "clock", "at": T}`` is :func:`tools.lifecycle.set_clock`;
3. a snapshot of the store (world, clock, every plan, the committed one);
4. the ``turns``, one after another in one conversation thread of a new agent made by the agent
   factory for this run's :class:`~tools.context.ToolContext`;
5. every ``expect`` check, evaluated from the store (see :mod:`copilot.apps.eval.checks`).

A crash (in the setup, the agent or a check) fails that run, is recorded with its traceback, and the
evaluation goes on. The report is rewritten atomically after every task, so an interrupted evaluation
keeps what it has done. Nothing here knows task ids, world names or task wording: tasks are judged
only by their checks.

The package's modules:

* :mod:`~copilot.apps.eval.tasks`: the agent as the evaluator sees it, task files and worlds;
* :mod:`~copilot.apps.eval.state`: store snapshots and the state the checks read;
* :mod:`~copilot.apps.eval.checks`: the state checks and every check by name (validation, evaluation);
* :mod:`~copilot.apps.eval.answers`: reading numbers, times, ids and the language in an answer, and the answer checks;
* :mod:`~copilot.apps.eval.runner`: running a task's turns, repeats, progress and the ``eval`` command;
* :mod:`~copilot.apps.eval.report`: the report (its keys are listed there), written atomically.
"""
