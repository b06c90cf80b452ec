"""flows: when and where to. Runs the nightly chain over the pilot villages and owns every
side effect (files, state, schedules). Its rooms (``docs/architecture.md``):

- the night: ``plan`` (the night as data), ``work`` (one step), the two executors
  ``execute_plain`` and ``execute_prefect``, ``results`` (what steps return, aggregated once),
  ``runner`` (plan, execute, record, publish), ``cluster`` (Dask), ``scenes`` (the scene cache),
  ``retry``, ``state``, ``sources``, ``params``, ``deploy`` (schedules), ``cli``;
- ``products``: writing every product under the output folder;
- ``publish``: catalog, quicklooks, packages, pages, server;
- ``evaluation``: scoring the indicators against truth and references;
- ``api``: reading a run's outputs in notebooks (on top: nothing in the pipeline imports it).
"""
