"""Product writing: everything a night writes under ``OUT``, one module per job.

``layout`` (every output path and file name), ``cache`` (the one up-to-date rule), the writing
primitives (``atomic``, ``rasters``, ``vectors``, ``versions``), one module per product family
(``date``, ``change``, ``watches``, ``tables``) and ``inventory`` (what a folder holds, for
publishing). Nothing here imports Prefect, the publishers or the notebook API.
"""
