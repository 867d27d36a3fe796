"""The emulator's control plane: what tests of partner automation drive on purpose.

``/_ztd/v1/`` (operator tokens only, ``ZTD_CONTROL_PLANE=false`` hides it) sets device
outcome rules the job engine applies (:mod:`.rules`), HTTP faults the outer gate answers
(:mod:`.gate`), and jobs held in ``processing`` (:mod:`.holds`). Everything is stored, so
several API processes and workers see the same controls; each process caches what its hot
path needs (:mod:`.cache`) and costs next to nothing while no control is set.
"""
