"""A fair comparison of fusion strategies: every strategy with every seed at an equal budget.

``mmstudio train DATA --fusion concat,late --seeds 3 --out DIR`` writes a plan
(:mod:`.plan`), then the driver (:mod:`.driver`) trains each run in its own child process
(:mod:`.worker`, launched by :mod:`.launch`). A worker logs curves (:mod:`.metrics_log`) and
measures its checkpoint on the test split (:mod:`.measure`); once every run is done the report
(:mod:`.report`, statistics in :mod:`.stats`) says which differences hold at that seed count.
Every file is written atomically (:mod:`.files`), so the window can read them while runs go on.

Layout of DIR (the contract the window reads)::

    plan.json  driver.json  STOP  report.json  report.md
    <run id>/status.json  STOP  metrics.jsonl  tensorboard/  checkpoint/  test.json  worker.log
"""
